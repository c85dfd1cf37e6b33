using Seq.Application.Events;
using Seq.Domain;
using Seq.Domain.Settings;
using Seq.Infrastructure.EventSourcing;

namespace Seq.Infrastructure.Events;

/// <summary>Empties ingestion's cache of settings and key input settings when one of them changes on this node (ADR 0041).</summary>
sealed class IngestionCacheInvalidation(IngestionConfiguration? configuration) : IAppendObserver
{
    public Task AfterCommitAsync(IReadOnlyList<IDomainEvent> events, CancellationToken cancellationToken)
    {
        if (configuration is not null && events.Any(e => e is SettingChanged || e.GetType().Namespace == "Seq.Domain.ApiKeys"))
            configuration.Invalidate();
        return Task.CompletedTask;
    }
}

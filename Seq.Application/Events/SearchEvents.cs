using MediatR;
using Seq.Application.Auditing;
using Seq.Application.Filtering;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Application.Signals;
using Seq.Application.Users;
using Seq.Domain.Security;

namespace Seq.Application.Events;

/// <summary>
/// A search of stored log events, newest first. The caller's view filter is always ANDed in as a separate,
/// separately parsed condition, so no filter text can reach outside it.
/// </summary>
[Demands(Permission.Read)]
public sealed record SearchEventsQuery(string? Filter, string? Signal, int? Count, DateTimeOffset? FromDateUtc, DateTimeOffset? ToDateUtc, string? AfterId)
    : IRequest<IReadOnlyList<StoredLogEvent>>
{
    public const int DefaultCount = 30;
    public const int MaximumCount = 10_000;
}

/// <summary>One event by id, under the caller's view filter (an event outside it is not found).</summary>
[Demands(Permission.Read)]
public sealed record GetEventQuery(string Id) : IRequest<StoredLogEvent>;

sealed class SearchEventsHandler(ILogEventReader reader, ViewFilters viewFilters, IAuditLog audit, OperationContext operation, ISignalsReadModel signals)
    : IRequestHandler<SearchEventsQuery, IReadOnlyList<StoredLogEvent>>
{
    public async Task<IReadOnlyList<StoredLogEvent>> Handle(SearchEventsQuery request, CancellationToken cancellationToken)
    {
        var count = request.Count ?? SearchEventsQuery.DefaultCount;
        if (count is < 1 or > SearchEventsQuery.MaximumCount)
            throw Invalid("count", $"count must be between 1 and {SearchEventsQuery.MaximumCount}.");
        if (request.AfterId is not null && !reader.IsEventId(request.AfterId))
            throw Invalid("afterId", "afterId is not the id of an event.");

        var filters = new List<FilterExpression>(await viewFilters.OfCallerAsync(cancellationToken));
        if (!string.IsNullOrWhiteSpace(request.Filter))
            filters.Add(FilterParser.Parse(request.Filter));
        if (!string.IsNullOrWhiteSpace(request.Signal))
        {
            foreach (var signalId in request.Signal.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var signal = await signals.GetAsync(signalId, cancellationToken);
                if (signal is null || !SignalAccess.CanSee(operation.Principal, signal.OwnerId))
                    throw new NotFoundException($"There is no signal {signalId}.");
                filters.AddRange(signal.Definition.Filters.Where(f => !string.IsNullOrWhiteSpace(f.Filter)).Select(f => FilterParser.Parse(f.Filter)));
            }
        }

        if (audit.IsEnabled)
            await audit.WriteAsync(new AuditEntry(AuditCatalogue.EventSearch.Category, AuditCatalogue.EventSearch.Operation, AuditEventKind.Advise, Guid.NewGuid(),
                "Searched events with filter {Filter}",
                [new("Filter", request.Filter), new("Signal", request.Signal), new("FromDateUtc", request.FromDateUtc), new("ToDateUtc", request.ToDateUtc), new("Count", count)]),
                cancellationToken);

        return await reader.SearchAsync(new LogEventQuery(count, request.FromDateUtc, request.ToDateUtc, request.AfterId, filters), cancellationToken);
    }

    static FluentValidation.ValidationException Invalid(string parameter, string message) =>
        new([new FluentValidation.Results.ValidationFailure(parameter, message)]);
}

sealed class GetEventHandler(ILogEventReader reader, ViewFilters viewFilters) : IRequestHandler<GetEventQuery, StoredLogEvent>
{
    public async Task<StoredLogEvent> Handle(GetEventQuery request, CancellationToken cancellationToken) =>
        await reader.FindAsync(request.Id, await viewFilters.OfCallerAsync(cancellationToken), cancellationToken)
        ?? throw new NotFoundException($"There is no event {request.Id}.");
}

/// <summary>The view filter of the user the caller acts as (a personal key acts as its owner), parsed.</summary>
public sealed class ViewFilters(IUserReadModel users, OperationContext operation)
{
    public async Task<IReadOnlyList<FilterExpression>> OfCallerAsync(CancellationToken cancellationToken)
    {
        if (operation.Principal.UserId is not { } userId)
            return [];
        var user = await users.FindAsync(userId, cancellationToken);
        return user?.ViewFilter is { Filter: { } filter } && !string.IsNullOrWhiteSpace(filter) ? [FilterParser.Parse(filter)] : [];
    }
}

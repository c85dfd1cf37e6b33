using FluentValidation;
using MediatR;
using Seq.Application.Auditing;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Domain.Signals;

namespace Seq.Application.Signals;

/// <summary>Replaces a signal's definition; its id and owner stay.</summary>
[Demands(Permission.Read)]
[Audited("Signal", "Update", BeginTemplate = "Beginning update of signal {SignalId}")]
public sealed record UpdateSignalCommand(
    [property: AuditProperty(Name = "SignalId")] string Id,
    [property: AuditProperty] string? Title,
    string? Description,
    IReadOnlyList<SignalFilterFields>? Filters,
    IReadOnlyList<SignalColumn>? Columns,
    SignalGrouping Grouping,
    string? ExplicitGroupName,
    [property: AuditProperty] bool IsProtected,
    bool IsIndexSuppressed) : IRequest<SignalView>, ISignalFields
{
    /// <summary>The id the request body names, if any; it must be the one the address names.</summary>
    public string? BodyId { get; init; }
}

public sealed class UpdateSignalValidator : AbstractValidator<UpdateSignalCommand>
{
    public UpdateSignalValidator()
    {
        Include(new SignalFieldsValidator());
        RuleFor(c => c.BodyId).Must((c, bodyId) => string.IsNullOrEmpty(bodyId) || bodyId == c.Id)
            .WithMessage(c => $"The body names the signal {c.BodyId} but the address names {c.Id}.");
    }
}

sealed class UpdateSignalHandler(IEventStore store, OperationContext operation, TimeProvider clock) : IRequestHandler<UpdateSignalCommand, SignalView>
{
    public async Task<SignalView> Handle(UpdateSignalCommand request, CancellationToken cancellationToken)
    {
        var (signal, version) = await store.LoadAsync<Signal>(Signal.StreamIdFor(request.Id), cancellationToken);
        if (!signal.Exists || !SignalAccess.CanSee(operation.Principal, signal.OwnerId))
            throw SignalAccess.NotFound(request.Id);

        // Unprotecting a signal is a change to a protected signal, so both states are checked.
        SignalAccess.RequireChangeable(operation.Principal, signal.OwnerId, signal.Definition!.IsProtected || request.IsProtected);

        var events = signal.Change(request.ToDefinition(), clock.GetUtcNow());
        if (events.Count > 0)
        {
            await store.AppendAsync(Signal.StreamIdFor(request.Id), Signal.StreamType, version, events, cancellationToken);
            foreach (var e in events)
                signal.Apply(e);
        }
        return new SignalView(signal.Id, signal.OwnerId, signal.Definition!);
    }
}

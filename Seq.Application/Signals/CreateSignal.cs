using FluentValidation;
using MediatR;
using Seq.Application.Auditing;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Domain.Signals;

namespace Seq.Application.Signals;

/// <summary>Creates a shared signal (<paramref name="OwnerId"/> null) or a personal one for the caller.</summary>
[Demands(Permission.Read)]
[Audited("Signal", "Create", BeginTemplate = "Beginning creation of signal {Title}", CompleteTemplate = "Created signal {Title} as {SignalId}")]
public sealed record CreateSignalCommand(
    [property: AuditProperty] string? Title,
    string? Description,
    IReadOnlyList<SignalFilterFields>? Filters,
    IReadOnlyList<SignalColumn>? Columns,
    SignalGrouping Grouping,
    string? ExplicitGroupName,
    [property: AuditProperty] bool IsProtected,
    bool IsIndexSuppressed,
    [property: AuditProperty] string? OwnerId) : IRequest<SignalView>, ISignalFields;

public sealed class CreateSignalValidator : AbstractValidator<CreateSignalCommand>
{
    public CreateSignalValidator() => Include(new SignalFieldsValidator());
}

sealed class CreateSignalHandler(IEventStore store, OperationContext operation, TimeProvider clock) : IRequestHandler<CreateSignalCommand, SignalView>
{
    public async Task<SignalView> Handle(CreateSignalCommand request, CancellationToken cancellationToken)
    {
        var ownerId = string.IsNullOrEmpty(request.OwnerId) ? null : request.OwnerId;
        if (ownerId is not null && operation.Principal.UserId is null)
            throw new AccessDeniedException("Only a user, or an API key acting for one, can own a personal signal.");
        SignalAccess.RequireChangeable(operation.Principal, ownerId, request.IsProtected);

        var id = "signal-" + Guid.NewGuid().ToString("N")[..16];
        var created = Signal.Create(id, ownerId, request.ToDefinition(), clock.GetUtcNow());
        await store.AppendAsync(Signal.StreamIdFor(id), Signal.StreamType, 0, [created], cancellationToken);
        return new SignalView(id, ownerId, created.Definition);
    }
}

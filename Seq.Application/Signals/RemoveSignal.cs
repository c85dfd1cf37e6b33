using MediatR;
using Seq.Application.Auditing;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Domain.Signals;

namespace Seq.Application.Signals;

[Demands(Permission.Read)]
[Audited("Signal", "Remove", BeginTemplate = "Beginning removal of signal {SignalId}")]
public sealed record RemoveSignalCommand([property: AuditProperty(Name = "SignalId")] string Id) : IRequest<Unit>;

sealed class RemoveSignalHandler(IEventStore store, OperationContext operation, TimeProvider clock) : IRequestHandler<RemoveSignalCommand, Unit>
{
    public async Task<Unit> Handle(RemoveSignalCommand request, CancellationToken cancellationToken)
    {
        var (signal, version) = await store.LoadAsync<Signal>(Signal.StreamIdFor(request.Id), cancellationToken);
        if (!signal.Exists || !SignalAccess.CanSee(operation.Principal, signal.OwnerId))
            throw SignalAccess.NotFound(request.Id);
        SignalAccess.RequireChangeable(operation.Principal, signal.OwnerId, signal.Definition!.IsProtected);

        await store.AppendAsync(Signal.StreamIdFor(request.Id), Signal.StreamType, version, signal.Remove(clock.GetUtcNow()), cancellationToken);
        return Unit.Value;
    }
}

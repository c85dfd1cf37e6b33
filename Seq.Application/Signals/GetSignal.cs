using MediatR;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Signals;

[Demands(Permission.Read)]
public sealed record GetSignalQuery(string Id) : IRequest<SignalView>;

sealed class GetSignalHandler(ISignalsReadModel signals, OperationContext operation) : IRequestHandler<GetSignalQuery, SignalView>
{
    public async Task<SignalView> Handle(GetSignalQuery request, CancellationToken cancellationToken) =>
        await signals.GetAsync(request.Id, cancellationToken) is { } signal && SignalAccess.CanSee(operation.Principal, signal.OwnerId)
            ? signal
            : throw SignalAccess.NotFound(request.Id);
}

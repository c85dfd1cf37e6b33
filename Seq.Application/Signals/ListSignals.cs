using MediatR;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Signals;

/// <summary>
/// Seq's listing: with <paramref name="OwnerId"/>, that user's personal signals; without, every personal signal the
/// caller may see; <paramref name="Shared"/> adds the shared ones.
/// </summary>
[Demands(Permission.Read)]
public sealed record ListSignalsQuery(string? OwnerId, bool Shared) : IRequest<IReadOnlyList<SignalView>>;

sealed class ListSignalsHandler(ISignalsReadModel signals, OperationContext operation) : IRequestHandler<ListSignalsQuery, IReadOnlyList<SignalView>>
{
    public async Task<IReadOnlyList<SignalView>> Handle(ListSignalsQuery request, CancellationToken cancellationToken)
    {
        var ownerId = string.IsNullOrEmpty(request.OwnerId) ? null : request.OwnerId;
        return
        [
            .. (await signals.ListAsync(cancellationToken)).Where(s =>
                SignalAccess.CanSee(operation.Principal, s.OwnerId) &&
                (s.OwnerId is null ? request.Shared : ownerId is null || s.OwnerId == ownerId)),
        ];
    }
}

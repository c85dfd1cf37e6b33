using MediatR;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Feeds;

[Demands(Permission.System)]
public sealed record ListNuGetFeedsQuery : IRequest<IReadOnlyList<NuGetFeedView>>;

sealed class ListNuGetFeedsHandler(INuGetFeedReadModel feeds) : IRequestHandler<ListNuGetFeedsQuery, IReadOnlyList<NuGetFeedView>>
{
    public Task<IReadOnlyList<NuGetFeedView>> Handle(ListNuGetFeedsQuery request, CancellationToken cancellationToken) =>
        feeds.ListAsync(cancellationToken);
}

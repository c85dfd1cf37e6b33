using Seq.Domain.Security;
using Seq.Application.Security;
using MediatR;
using Seq.Application.Pipeline;

namespace Seq.Application.Feeds;

[Demands(Permission.System)]
public sealed record ListNuGetFeedsQuery : IRequest<IReadOnlyList<NuGetFeedView>>;

sealed class ListNuGetFeedsHandler(INuGetFeedReadModel feeds) : IRequestHandler<ListNuGetFeedsQuery, IReadOnlyList<NuGetFeedView>>
{
    public Task<IReadOnlyList<NuGetFeedView>> Handle(ListNuGetFeedsQuery request, CancellationToken cancellationToken) =>
        feeds.ListAsync(cancellationToken);
}

[Demands(Permission.System)]
public sealed record GetNuGetFeedQuery(string Id) : IRequest<NuGetFeedView>;

sealed class GetNuGetFeedHandler(INuGetFeedReadModel feeds) : IRequestHandler<GetNuGetFeedQuery, NuGetFeedView>
{
    public async Task<NuGetFeedView> Handle(GetNuGetFeedQuery request, CancellationToken cancellationToken) =>
        await feeds.FindAsync(request.Id, cancellationToken) ?? throw new NotFoundException($"There is no feed with id {request.Id}.");
}

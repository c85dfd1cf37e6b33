using MediatR;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Feeds;

[Demands(Permission.System)]
public sealed record GetNuGetFeedQuery(string Id) : IRequest<NuGetFeedView>;

sealed class GetNuGetFeedHandler(INuGetFeedReadModel feeds) : IRequestHandler<GetNuGetFeedQuery, NuGetFeedView>
{
    public async Task<NuGetFeedView> Handle(GetNuGetFeedQuery request, CancellationToken cancellationToken) =>
        await feeds.FindAsync(request.Id, cancellationToken) ?? throw new NotFoundException($"There is no feed with id {request.Id}.");
}

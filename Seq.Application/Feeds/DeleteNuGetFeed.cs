using Seq.Application.Auditing;
using Seq.Domain.Security;
using Seq.Application.Security;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Domain.Feeds;

namespace Seq.Application.Feeds;

[Demands(Permission.System)]
[Audited("Feed", "Delete", BeginTemplate = "Beginning deletion of feed {FeedId}")]
public sealed record DeleteNuGetFeedCommand([property: AuditProperty(Name = "FeedId")] string Id) : IRequest<Unit>;

sealed class DeleteNuGetFeedHandler(IEventStore store, TimeProvider clock) : IRequestHandler<DeleteNuGetFeedCommand, Unit>
{
    public async Task<Unit> Handle(DeleteNuGetFeedCommand request, CancellationToken cancellationToken)
    {
        var (feed, version) = await store.LoadAsync<NuGetFeed>(NuGetFeed.StreamIdFor(request.Id), cancellationToken);
        var events = feed.Delete(clock.GetUtcNow());
        if (events.Count == 0)
            throw new NotFoundException($"There is no feed with id {request.Id}.");

        await store.AppendAsync(NuGetFeed.StreamIdFor(request.Id), NuGetFeed.StreamType, version, events, cancellationToken);
        return Unit.Value;
    }
}

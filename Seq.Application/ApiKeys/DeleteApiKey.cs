using Seq.Application.Auditing;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

[Demands(Permission.Write)]
[Audited("ApiKey", "Delete", BeginTemplate = "Beginning deletion of API key {ApiKeyId}")]
public sealed record DeleteApiKeyCommand([property: AuditProperty(Name = "ApiKeyId")] string Id) : IRequest<Unit>;

sealed class DeleteApiKeyHandler(IEventStore store, OperationContext operation, TimeProvider clock) : IRequestHandler<DeleteApiKeyCommand, Unit>
{
    public async Task<Unit> Handle(DeleteApiKeyCommand request, CancellationToken cancellationToken)
    {
        var streamId = ApiKey.StreamIdFor(request.Id);
        var (key, version) = await store.LoadAsync<ApiKey>(streamId, cancellationToken);
        if (!ApiKeyAccess.CanSee(operation.Principal, key.OwnerId))
            throw ApiKeyAccess.NotFound(request.Id);

        var events = key.Delete(clock.GetUtcNow());
        if (events.Count == 0)
            throw ApiKeyAccess.NotFound(request.Id);
        ApiKeyAccess.RequireHeld(operation.Principal, key, deleting: true);

        await store.AppendAsync(streamId, ApiKey.StreamType, version, events, cancellationToken);
        return Unit.Value;
    }
}

using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

/// <summary>The keys the caller may see, optionally only those of one owner.</summary>
[Demands(Permission.Write)]
public sealed record ListApiKeysQuery(string? OwnerId = null) : IRequest<IReadOnlyList<ApiKeyView>>;

sealed class ListApiKeysHandler(IApiKeyReadModel apiKeys, OperationContext operation) : IRequestHandler<ListApiKeysQuery, IReadOnlyList<ApiKeyView>>
{
    public async Task<IReadOnlyList<ApiKeyView>> Handle(ListApiKeysQuery request, CancellationToken cancellationToken)
    {
        var principal = operation.Principal;
        if (principal.Has(Permission.Organization))
            return request.OwnerId is null
                ? await apiKeys.ListAsync(cancellationToken)
                : await apiKeys.ListOwnedByAsync(request.OwnerId, cancellationToken);

        if (principal.UserId is null || request.OwnerId is not null && request.OwnerId != principal.UserId)
            return [];
        return await apiKeys.ListOwnedByAsync(principal.UserId, cancellationToken);
    }
}

[Demands(Permission.Write)]
public sealed record GetApiKeyQuery(string Id) : IRequest<ApiKeyView>;

sealed class GetApiKeyHandler(IApiKeyReadModel apiKeys, OperationContext operation) : IRequestHandler<GetApiKeyQuery, ApiKeyView>
{
    public async Task<ApiKeyView> Handle(GetApiKeyQuery request, CancellationToken cancellationToken)
    {
        var key = await apiKeys.FindAsync(request.Id, cancellationToken);
        return key is not null && ApiKeyAccess.CanSee(operation.Principal, key.OwnerId) ? key : throw ApiKeyAccess.NotFound(request.Id);
    }
}

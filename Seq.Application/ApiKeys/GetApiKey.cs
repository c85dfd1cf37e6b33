using MediatR;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

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

using MediatR;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

/// <summary>
/// The keys the caller may see. With <paramref name="OwnerId"/>, that user's personal keys; with <see cref="Shared"/>,
/// the shared keys (no owner); with both, both; with neither, every key the caller may see (Seq's <c>ownerId</c> and
/// <c>shared</c> parameters).
/// </summary>
[Demands(Permission.Write)]
public sealed record ListApiKeysQuery(string? OwnerId = null) : IRequest<IReadOnlyList<ApiKeyView>>
{
    public bool Shared { get; init; }
}

sealed class ListApiKeysHandler(IApiKeyReadModel apiKeys, OperationContext operation) : IRequestHandler<ListApiKeysQuery, IReadOnlyList<ApiKeyView>>
{
    public async Task<IReadOnlyList<ApiKeyView>> Handle(ListApiKeysQuery request, CancellationToken cancellationToken)
    {
        var principal = operation.Principal;
        var all = await apiKeys.ListAsync(cancellationToken);
        var filtered = request.OwnerId is null && !request.Shared
            ? all
            : all.Where(k => request.Shared && k.OwnerId is null || request.OwnerId is not null && k.OwnerId == request.OwnerId);
        return [.. filtered.Where(k => ApiKeyAccess.CanSee(principal, k.OwnerId))];
    }
}

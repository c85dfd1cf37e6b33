namespace Seq.Application.ApiKeys;

/// <summary>The API keys projection.</summary>
public interface IApiKeyReadModel
{
    /// <summary>Every key, shared and personal, ordered by title.</summary>
    Task<IReadOnlyList<ApiKeyView>> ListAsync(CancellationToken cancellationToken);

    Task<ApiKeyView?> FindAsync(string id, CancellationToken cancellationToken);
}

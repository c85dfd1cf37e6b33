namespace Seq.Application.Feeds;

/// <summary>The feeds projection.</summary>
public interface INuGetFeedReadModel
{
    Task<IReadOnlyList<NuGetFeedView>> ListAsync(CancellationToken cancellationToken);
    Task<NuGetFeedView?> FindAsync(string id, CancellationToken cancellationToken);
    Task<NuGetFeedView?> FindByNameAsync(string name, CancellationToken cancellationToken);
}

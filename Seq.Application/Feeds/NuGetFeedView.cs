namespace Seq.Application.Feeds;

/// <summary>A feed as callers see it: whether a password is set, never the password.</summary>
public sealed record NuGetFeedView(string Id, string Name, string Location, string? Username, bool IsPasswordSet);

/// <summary>The feeds projection.</summary>
public interface INuGetFeedReadModel
{
    Task<IReadOnlyList<NuGetFeedView>> ListAsync(CancellationToken cancellationToken);
    Task<NuGetFeedView?> FindAsync(string id, CancellationToken cancellationToken);
    Task<NuGetFeedView?> FindByNameAsync(string name, CancellationToken cancellationToken);
}

namespace Seq.Application.Security;

/// <summary>A user as authentication sees it.</summary>
public sealed record DirectoryUser(string Id, string Username, IReadOnlySet<Domain.Security.Permission> Permissions, int PasswordVersion);

/// <summary>
/// The users and API keys that requests authenticate against, held in memory so that checking a key costs
/// microseconds; refreshed whenever a user or key changes, on this node or another.
/// </summary>
public interface ISecurityDirectory
{
    /// <summary>The principal for an API key token, or null when no live key has that token. An unknown prefix costs no hashing.</summary>
    Principal? AuthenticateApiKey(string token);

    DirectoryUser? FindUser(string userId);

    /// <summary>Returns once every change committed before the call is visible.</summary>
    Task RefreshAsync(CancellationToken cancellationToken);

    /// <summary>The last reload failed, so a committed change may be missing: reload before trusting an answer.</summary>
    bool IsStale { get; }
}

namespace Seq.Application.Security;

/// <summary>The outcome of checking a password against a stored hash.</summary>
public enum PasswordVerification
{
    Failed,
    Succeeded,

    /// <summary>The password is right, but the hash uses weaker parameters than today's: store a fresh hash.</summary>
    SucceededRehashNeeded,
}

/// <summary>
/// Password hashing on a bounded pool of dedicated threads: each hash is deliberately expensive, so a burst of
/// logins queues here instead of starving the threads that serve every other request.
/// </summary>
public interface IPasswordHashing
{
    Task<string> HashAsync(string password, CancellationToken cancellationToken);

    /// <summary>With no <paramref name="storedHash"/> (an unknown user) the cost is the same and the answer is <see cref="PasswordVerification.Failed"/>.</summary>
    /// <exception cref="ServerBusyException">Too many hashes are already waiting.</exception>
    Task<PasswordVerification> VerifyAsync(string password, string? storedHash, CancellationToken cancellationToken);
}

/// <summary>Login throttling with exponential backoff, per account and per client address, shared by every node.</summary>
public interface ILoginThrottle
{
    /// <summary>
    /// Claims a password check before it is made: unless the account or the address is blocked, the attempt is
    /// counted as a failure at once, atomically with the check of the block, so that concurrent guesses cannot all
    /// pass the check before any is counted.
    /// </summary>
    /// <returns>How long the attempt must wait (nothing was counted), or null when it may proceed.</returns>
    Task<TimeSpan?> ReserveAttemptAsync(string username, string? address, CancellationToken cancellationToken);

    /// <summary>The reserved attempt proved the password: the account's failures are forgotten, and the address gets its reservation back.</summary>
    Task RecordSuccessAsync(string username, string? address, CancellationToken cancellationToken);

    /// <summary>The reserved attempt checked no password (the server was too busy to): its reservation is handed back.</summary>
    Task ReleaseAsync(string username, string? address, CancellationToken cancellationToken);
}

/// <summary>A login session's secrets: the cookie value and the CSRF token derived from it. Both are shown once, to the client.</summary>
public sealed record NewSession(string Token, string CsrfToken)
{
    public override string ToString() => "NewSession { (secret) }";
}

/// <summary>The user behind a live session.</summary>
public sealed record SessionUser(string UserId, int PasswordVersion, string CsrfToken)
{
    public override string ToString() => $"SessionUser {{ UserId = {UserId} }}";
}

/// <summary>Login sessions, kept in the database so that every node honours them and a logout ends them everywhere.</summary>
public interface ISessions
{
    Task<NewSession> StartAsync(string userId, int passwordVersion, CancellationToken cancellationToken);

    /// <summary>The live session for <paramref name="token"/>, or null when it is unknown, ended or expired.</summary>
    Task<SessionUser?> FindAsync(string token, CancellationToken cancellationToken);

    Task EndAsync(string token, CancellationToken cancellationToken);

    /// <summary>Keeps a session alive across its own user's password change (which ends every other session).</summary>
    Task RestampAsync(string token, int passwordVersion, CancellationToken cancellationToken);
}

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

/// <summary>A freshly generated API key token and what is stored of it.</summary>
public sealed record ApiKeyToken(string Token, string Prefix, byte[] Salt, byte[] Hash)
{
    public override string ToString() => $"ApiKeyToken {{ Prefix = {Prefix} }}";
}

/// <summary>API key tokens: generated with at least 120 bits of entropy, stored only as a keyed, salted hash and a short prefix.</summary>
public interface IApiKeyTokens
{
    ApiKeyToken Generate();

    /// <summary>What is stored of a token the client chose (validation has checked its strength): the same as of a generated one.</summary>
    ApiKeyToken FromClient(string token);
}

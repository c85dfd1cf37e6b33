namespace Seq.Application.Security;

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

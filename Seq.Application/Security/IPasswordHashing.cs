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

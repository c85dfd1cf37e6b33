using Seq.Application.Security;

namespace Seq.Application.Users;

/// <summary>A password check that counts against the login throttle: reserved before the derivation runs, so that it is counted however many run at once.</summary>
static class ThrottledPasswordCheck
{
    /// <exception cref="TooManyAttemptsException">The account or the address is blocked; no password was checked.</exception>
    public static async Task<PasswordVerification> VerifyAsync(ILoginThrottle throttle, IPasswordHashing hashing, string username, string? address,
        string password, string? storedHash, CancellationToken cancellationToken)
    {
        if (await throttle.ReserveAttemptAsync(username, address, cancellationToken) is { } wait)
            throw new TooManyAttemptsException(wait);

        PasswordVerification verification;
        try
        {
            verification = await hashing.VerifyAsync(password, storedHash, cancellationToken);
        }
        catch (Exception e) when (e is ServerBusyException or OperationCanceledException)
        {
            // Refused before any derivation ran, or the caller left before it could learn the answer: the attempt
            // guessed nothing, so it costs the account nothing (a client that times out and retries is not locked out).
            await throttle.ReleaseAsync(username, address, CancellationToken.None);
            throw;
        }

        // A failure stays counted, as reserved.
        if (verification != PasswordVerification.Failed && storedHash is not null)
            await throttle.RecordSuccessAsync(username, address, CancellationToken.None);
        return verification;
    }
}

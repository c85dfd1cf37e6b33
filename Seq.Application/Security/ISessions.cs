namespace Seq.Application.Security;

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

namespace Seq.Application.Users;

public interface IUserReadModel
{
    Task<IReadOnlyList<UserView>> ListAsync(CancellationToken cancellationToken);

    Task<UserView?> FindAsync(string id, CancellationToken cancellationToken);

    Task<UserView?> FindByUsernameAsync(string username, CancellationToken cancellationToken);

    Task<UserCredentials?> FindCredentialsAsync(string username, CancellationToken cancellationToken);
}

/// <summary>What a login checks. Only login reads a password hash.</summary>
public sealed record UserCredentials(string UserId, string PasswordHash, bool MustChangePassword, int PasswordVersion)
{
    public override string ToString() => $"UserCredentials {{ UserId = {UserId} }}";
}

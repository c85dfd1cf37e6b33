using Seq.Application.Auditing;
using FluentValidation;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Security;
using Seq.Domain;
using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Application.Users;

/// <summary>A local (username and password) login; <paramref name="NewPassword"/> changes the password in the same step.</summary>
[Demands(Permission.Public)]
[Audited("User", "LocalLogin", BeginTemplate = "Beginning login attempt for {Username}",
    CompleteTemplate = "User {Username} successfully logged in as {UserId}", AbandonTemplate = "The login was rejected")]
public sealed record LoginCommand([property: AuditProperty] string? Username, string? Password, string? NewPassword) : IRequest<LoginResult>
{
    public override string ToString() => $"{nameof(LoginCommand)} {{ Username = {Username} }}";
}

public sealed record LoginResult(UserView User, NewSession Session) : IAuditedResult
{
    public IEnumerable<KeyValuePair<string, object?>> AuditProperties => [new("UserId", User.Id)];

    public override string ToString() => $"{nameof(LoginResult)} {{ UserId = {User.Id} }}";
}

public sealed class LoginValidator : AbstractValidator<LoginCommand>
{
    // Generous bounds that only stop absurd input (a megabyte "password" would cost a megabyte of hashing per try).
    const int MaximumInputLength = 1024;

    public LoginValidator(PasswordPolicy policy)
    {
        RuleFor(c => c.Username).NotEmpty().WithMessage("A username is required.")
            .MaximumLength(MaximumInputLength).WithMessage("Invalid username or password.")
            .Must(u => u is null || !u.Any(char.IsControl)).WithMessage("A username may not contain control characters.");
        RuleFor(c => c.Password).NotEmpty().WithMessage("A password is required.")
            .MaximumLength(MaximumInputLength).WithMessage("Invalid username or password.");
        RuleFor(c => c.NewPassword).MeetsPolicy(policy, "NewPassword");
    }
}

sealed class LoginHandler(
    IEventStore store, IUserReadModel users, IPasswordHashing hashing, ILoginThrottle throttle, ISessions sessions,
    OperationContext operation, TimeProvider clock) : IRequestHandler<LoginCommand, LoginResult>
{
    public const string InvalidCredentials = "Invalid username or password.";

    public async Task<LoginResult> Handle(LoginCommand request, CancellationToken cancellationToken)
    {
        var username = request.Username!.Trim();

        // A known user with a wrong password and an unknown user take the same path, at the same cost: one
        // lookup, one throttle reservation, one full password derivation (against a dummy hash when there is no user).
        var credentials = await users.FindCredentialsAsync(username, cancellationToken);
        var verification = await ThrottledPasswordCheck.VerifyAsync(throttle, hashing, username, operation.Http?.RemoteIPAddress,
            request.Password!, credentials?.PasswordHash, cancellationToken);
        if (credentials is null || verification == PasswordVerification.Failed)
            throw new DomainException(InvalidCredentials);

        if (credentials.MustChangePassword && request.NewPassword is null)
            throw new DomainException("The password must be changed before this user can log in: send the current Password with a NewPassword.");
        if (request.NewPassword == request.Password)
            throw new DomainException("The new password must differ from the current one.");

        var (user, version) = await store.LoadAsync<User>(User.StreamIdFor(credentials.UserId), cancellationToken);
        if (!user.Exists)
            throw new DomainException(InvalidCredentials);

        var change = request.NewPassword is not null
            ? user.SetPassword(await hashing.HashAsync(request.NewPassword, cancellationToken), false, PasswordChangeReason.ChangedByUser, clock.GetUtcNow())
            : verification == PasswordVerification.SucceededRehashNeeded
                ? user.SetPassword(await hashing.HashAsync(request.Password!, cancellationToken), user.MustChangePassword, PasswordChangeReason.Rehashed, clock.GetUtcNow())
                : null;
        if (change is not null)
        {
            try
            {
                await store.AppendAsync(User.StreamIdFor(user.Id), User.StreamType, version, [change], cancellationToken);
                user.Apply(change);
            }
            catch (ConcurrencyException) when (change.Reason == PasswordChangeReason.Rehashed)
            {
                // The user changed meanwhile; the upgrade waits for the next login, and this one stands.
                (user, _) = await store.LoadAsync<User>(User.StreamIdFor(user.Id), cancellationToken);
            }
        }

        // The credentials were proven and a password change may have committed: the login runs to its end whatever
        // the client does now, so that its audit record says what happened.
        var session = await sessions.StartAsync(user.Id, user.PasswordVersion, CancellationToken.None);
        // From here the operation is the user's: its Complete audit event names them as the principal.
        operation.Principal = new Principal(PrincipalType.User, user.Username, user.Id, null, User.PermissionsOf(user.RoleIds));
        return new LoginResult(UserView.Of(user), session);
    }
}

/// <summary>Ends the caller's session, if the request carries one; logging out twice is not an error.</summary>
[Demands(Permission.Public)]
[Audited("User", "Logout")]
public sealed record LogoutCommand(string? SessionToken) : IRequest<Unit>
{
    public override string ToString() => nameof(LogoutCommand);
}

sealed class LogoutHandler(ISessions sessions) : IRequestHandler<LogoutCommand, Unit>
{
    public async Task<Unit> Handle(LogoutCommand request, CancellationToken cancellationToken)
    {
        if (request.SessionToken is not null)
            await sessions.EndAsync(request.SessionToken, cancellationToken);
        return Unit.Value;
    }
}

/// <summary>The caller changes their own password, proving the current one. Every other session of the user ends.</summary>
[Demands(Permission.Public, User = true)]
[Audited("User", "ChangePassword")]
public sealed record ChangeOwnPasswordCommand(string? CurrentPassword, string? NewPassword) : IRequest<int>
{
    public override string ToString() => nameof(ChangeOwnPasswordCommand);
}

public sealed class ChangeOwnPasswordValidator : AbstractValidator<ChangeOwnPasswordCommand>
{
    public ChangeOwnPasswordValidator(PasswordPolicy policy)
    {
        RuleFor(c => c.CurrentPassword).NotEmpty().WithMessage("The current password is required.").MaximumLength(1024);
        RuleFor(c => c.NewPassword).NotEmpty().WithMessage("A new password is required.")
            .MeetsPolicy(policy, "NewPassword");
    }
}

sealed class ChangeOwnPasswordHandler(IEventStore store, IPasswordHashing hashing, ILoginThrottle throttle, OperationContext operation, TimeProvider clock)
    : IRequestHandler<ChangeOwnPasswordCommand, int>
{
    public async Task<int> Handle(ChangeOwnPasswordCommand request, CancellationToken cancellationToken)
    {
        var streamId = User.StreamIdFor(operation.Principal.UserId!);
        var (user, version) = await store.LoadAsync<User>(streamId, cancellationToken);
        if (!user.Exists)
            throw new AuthenticationRequiredException("The user no longer exists.");

        // Guessing the current password here is a login attempt by another route, and is throttled like one.
        if (await ThrottledPasswordCheck.VerifyAsync(throttle, hashing, user.Username, operation.Http?.RemoteIPAddress,
                request.CurrentPassword!, user.PasswordHash, cancellationToken) == PasswordVerification.Failed)
            throw new DomainException("The current password is not correct.");
        if (request.NewPassword == request.CurrentPassword)
            throw new DomainException("The new password must differ from the current one.");

        var change = user.SetPassword(await hashing.HashAsync(request.NewPassword!, cancellationToken), false, PasswordChangeReason.ChangedByUser, clock.GetUtcNow());
        await store.AppendAsync(streamId, User.StreamType, version, [change], cancellationToken);
        return change.PasswordVersion;
    }
}

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

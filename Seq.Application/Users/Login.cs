using FluentValidation;
using MediatR;
using Seq.Application.Auditing;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
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

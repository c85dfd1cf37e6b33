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

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

/// <summary>Replaces a user's profile and roles; a <paramref name="NewPassword"/> resets the password (an administrator's reset).</summary>
[Demands(Permission.Organization)]
[Audited("User", "Update", BeginTemplate = "Beginning update of user {UserId}")]
public sealed record UpdateUserCommand(
    [property: AuditProperty(Name = "UserId")] string Id, [property: AuditProperty] string? Username, string? DisplayName, string? EmailAddress,
    [property: AuditProperty] IReadOnlyList<string>? RoleIds, DescriptiveFilter? ViewFilter,
    [property: AuditProperty] bool MustChangePassword, string? NewPassword) : IRequest<UserView>, IMayCarryUnsupportedFields
{
    /// <summary>Fields of Seq's entity the body gave a value that this server does not support; validation refuses them.</summary>
    public IReadOnlyList<string> UnsupportedFields { get; init; } = [];

    /// <summary>The id the request body names, if any; it must be the one the address names.</summary>
    public string? BodyId { get; init; }

    public override string ToString() => $"{nameof(UpdateUserCommand)} {{ Id = {Id}, Username = {Username}, RoleIds = [{string.Join(", ", RoleIds ?? [])}] }}";
}

public sealed class UpdateUserValidator : AbstractValidator<UpdateUserCommand>
{
    public UpdateUserValidator(PasswordPolicy policy)
    {
        Include(new UnsupportedFieldsValidator());
        RuleFor(c => c.Username).ValidUsername();
        this.ValidProfile(c => c.DisplayName, c => c.EmailAddress, c => c.RoleIds, c => c.ViewFilter);
        RuleFor(c => c.NewPassword).MeetsPolicy(policy, "NewPassword");
        RuleFor(c => c.BodyId).Must((c, bodyId) => string.IsNullOrEmpty(bodyId) || bodyId == c.Id)
            .WithMessage(c => $"The body names the user {c.BodyId} but the address names {c.Id}.");
    }
}

sealed class UpdateUserHandler(IEventStore store, IUserReadModel users, IPasswordHashing hashing, OperationContext operation, TimeProvider clock)
    : IRequestHandler<UpdateUserCommand, UserView>
{
    public async Task<UserView> Handle(UpdateUserCommand request, CancellationToken cancellationToken)
    {
        var streamId = User.StreamIdFor(request.Id);
        var (user, version) = await store.LoadAsync<User>(streamId, cancellationToken);
        if (!user.Exists)
            throw new NotFoundException($"There is no user with id {request.Id}.");

        var roleIds = request.RoleIds ?? [];
        UserRules.RequireCallerHolds(operation.Principal, user.RoleIds, "Changing this user");
        UserRules.RequireCallerHolds(operation.Principal, roleIds, "The user's roles");
        if (await users.FindByUsernameAsync(request.Username!.Trim(), cancellationToken) is { } sameName && sameName.Id != request.Id)
            throw new DomainException($"A user named {request.Username.Trim()} already exists.");

        var now = clock.GetUtcNow();
        var events = new List<IDomainEvent>(user.Change(request.Username, request.DisplayName, request.EmailAddress, roleIds, request.ViewFilter,
            request.MustChangePassword, now));
        if (request.NewPassword is not null)
            events.Add(user.SetPassword(await hashing.HashAsync(request.NewPassword, cancellationToken), request.MustChangePassword,
                PasswordChangeReason.ResetByAdministrator, now));

        if (events.Count > 0)
        {
            await store.AppendAsync(streamId, User.StreamType, version, events, cancellationToken);
            foreach (var e in events)
                user.Apply(e);
        }
        return UserView.Of(user);
    }
}

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

[Demands(Permission.Organization)]
[Audited("User", "Create", BeginTemplate = "Beginning creation of user {Username}", CompleteTemplate = "Created user {Username} as {UserId}")]
public sealed record CreateUserCommand(
    [property: AuditProperty] string? Username, string? DisplayName, string? EmailAddress, [property: AuditProperty] IReadOnlyList<string>? RoleIds,
    DescriptiveFilter? ViewFilter, string? Password, [property: AuditProperty] bool MustChangePassword) : IRequest<UserView>, IMayCarryUnsupportedFields
{
    /// <summary>Fields of Seq's entity the body gave a value that this server does not support; validation refuses them.</summary>
    public IReadOnlyList<string> UnsupportedFields { get; init; } = [];

    public override string ToString() => $"{nameof(CreateUserCommand)} {{ Username = {Username}, RoleIds = [{string.Join(", ", RoleIds ?? [])}] }}";
}

public sealed class CreateUserValidator : AbstractValidator<CreateUserCommand>
{
    public CreateUserValidator(PasswordPolicy policy)
    {
        Include(new UnsupportedFieldsValidator());
        RuleFor(c => c.Username).ValidUsername();
        this.ValidProfile(c => c.DisplayName, c => c.EmailAddress, c => c.RoleIds, c => c.ViewFilter);
        RuleFor(c => c.Password).NotEmpty().WithMessage("A new user needs a password.")
            .MeetsPolicy(policy, "Password");
    }
}

sealed class CreateUserHandler(IEventStore store, IUserReadModel users, IPasswordHashing hashing, OperationContext operation, TimeProvider clock)
    : IRequestHandler<CreateUserCommand, UserView>
{
    public async Task<UserView> Handle(CreateUserCommand request, CancellationToken cancellationToken)
    {
        var roleIds = request.RoleIds ?? [];
        UserRules.RequireCallerHolds(operation.Principal, roleIds, "The user's roles");
        if (await users.FindByUsernameAsync(request.Username!.Trim(), cancellationToken) is not null)
            throw new DomainException($"A user named {request.Username.Trim()} already exists.");

        var hash = await hashing.HashAsync(request.Password!, cancellationToken);
        var created = User.Create(User.NewId(), request.Username, request.DisplayName, request.EmailAddress, roleIds, request.ViewFilter,
            hash, request.MustChangePassword, clock.GetUtcNow());
        await store.AppendAsync(User.StreamIdFor(created.UserId), User.StreamType, 0, [created], cancellationToken);

        var user = new User();
        user.Apply(created);
        return UserView.Of(user);
    }
}

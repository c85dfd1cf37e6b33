using FluentValidation;
using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Application.Users;

static class UserRules
{
    /// <summary>Nobody may hand out, through a user's roles, a permission they do not hold themselves.</summary>
    public static void RequireCallerHolds(Security.Principal caller, IEnumerable<string> roleIds, string what)
    {
        var missing = User.PermissionsOf(roleIds).Where(p => !caller.Has(p)).Order().ToList();
        if (missing.Count > 0)
            throw new Security.AccessDeniedException($"{what} would grant {string.Join(", ", missing)}, which the caller does not hold.");
    }

    /// <summary>A password, when given, must meet the instance's <see cref="PasswordPolicy"/>.</summary>
    public static IRuleBuilderOptionsConditions<T, string?> MeetsPolicy<T>(this IRuleBuilder<T, string?> rule, PasswordPolicy policy, string name) =>
        rule.CustomAsync(async (password, context, cancellationToken) =>
        {
            if (password is not null && await policy.ProblemWithAsync(password, cancellationToken) is { } problem)
                context.AddFailure(name, problem);
        });

    public static IRuleBuilderOptions<T, string?> ValidUsername<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("A username is required.")
            .MaximumLength(User.MaximumUsernameLength).WithMessage($"A username may be at most {User.MaximumUsernameLength} characters long.")
            .Must(u => u is null || !u.Any(char.IsControl)).WithMessage("A username may not contain control characters.");

    public static void ValidProfile<T>(this AbstractValidator<T> validator, Func<T, string?> displayName, Func<T, string?> email,
        Func<T, IReadOnlyList<string>?> roleIds, Func<T, DescriptiveFilter?> viewFilter)
    {
        validator.RuleFor(c => displayName(c)).MaximumLength(User.MaximumDisplayNameLength)
            .WithMessage($"A display name may be at most {User.MaximumDisplayNameLength} characters long.").OverridePropertyName("DisplayName");
        validator.RuleFor(c => email(c)).MaximumLength(User.MaximumEmailAddressLength)
            .Must(e => string.IsNullOrWhiteSpace(e) || (e.Contains('@') && !e.Any(char.IsWhiteSpace)))
            .WithMessage("The email address is not valid.").OverridePropertyName("EmailAddress");
        validator.RuleFor(c => roleIds(c)).Must(ids => ids is null || ids.All(id => BuiltInRoles.Find(id ?? "") is not null))
            .WithMessage("Every role id must name a role (GET /api/roles lists them).").OverridePropertyName("RoleIds");
        validator.RuleFor(c => viewFilter(c)).Must(f => f is null || (f.Filter is { Length: <= User.MaximumFilterLength }
                && (f.Description?.Length ?? 0) <= User.MaximumFilterLength && (f.FilterNonStrict?.Length ?? 0) <= User.MaximumFilterLength))
            .WithMessage($"A view filter needs a Filter of at most {User.MaximumFilterLength} characters.").OverridePropertyName("ViewFilter");
    }
}

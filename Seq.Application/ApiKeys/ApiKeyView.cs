using FluentValidation;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Application.ApiKeys;

/// <summary>An API key as callers see it: the token's public prefix, never the token.</summary>
public sealed record ApiKeyView(
    string Id, string Title, string TokenPrefix, IReadOnlyList<Permission> AssignedPermissions, string? OwnerId, InputSettings InputSettings);

/// <summary>The API keys projection.</summary>
public interface IApiKeyReadModel
{
    /// <summary>Every key, shared and personal, ordered by title.</summary>
    Task<IReadOnlyList<ApiKeyView>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The personal keys of one user, ordered by title.</summary>
    Task<IReadOnlyList<ApiKeyView>> ListOwnedByAsync(string ownerId, CancellationToken cancellationToken);

    Task<ApiKeyView?> FindAsync(string id, CancellationToken cancellationToken);
}

/// <summary>The fields a request sets on a key, as the request gives them: validation refuses what is not a key's field.</summary>
public interface IApiKeyFields : IMayCarryUnsupportedFields
{
    string? Title { get; }
    IReadOnlyList<RequestedPermission>? Permissions { get; }
    RequestedInputSettings? Input { get; }

}

/// <summary>A permission as a request names it (in any letter case); validation refuses a name that is none of Seq's permissions.</summary>
public readonly record struct RequestedPermission(string? Name)
{
    public static implicit operator RequestedPermission(Permission permission) => new(permission.ToString());

    /// <summary>The permission named, or null when the name is none.</summary>
    public Permission? Parsed
    {
        get
        {
            var name = Name?.Trim();
            return Enum.GetValues<Permission>().Cast<Permission?>().FirstOrDefault(p => string.Equals(p.ToString(), name, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>The permissions named; null unless every name is one, as validation has made sure.</summary>
    public static IReadOnlyList<Permission>? ToPermissions(IReadOnlyList<RequestedPermission>? requested) =>
        requested is null || requested.Any(r => r.Parsed is null) ? null : [.. requested.Select(r => r.Parsed!.Value)];

    // The audit log records the canonical name of a permission, and a name that is none as it was given.
    public override string ToString() => Parsed?.ToString() ?? Name ?? "";
}

/// <summary>An applied property as a request gives it: its value as text, or a JSON object or array (<see cref="ValueIsScalar"/> false), which validation refuses.</summary>
public sealed record RequestedAppliedProperty(string? Name, string? Value, bool ValueIsScalar = true);

/// <summary>A key's input settings as a request gives them.</summary>
public sealed record RequestedInputSettings(
    IReadOnlyList<RequestedAppliedProperty?>? AppliedProperties, string? MinimumLevel, DescriptiveFilter? Filter, bool UseServerTimestamps)
{
    public static implicit operator RequestedInputSettings?(InputSettings? settings) =>
        settings is null ? null
            : new([.. settings.AppliedProperties.Select(p => new RequestedAppliedProperty(p.Name, p.Value))], settings.MinimumLevel, settings.Filter,
                settings.UseServerTimestamps);

    /// <summary>The settings themselves, once validation has accepted them.</summary>
    public InputSettings ToInputSettings() =>
        new([.. (AppliedProperties ?? []).Select(p => new InputAppliedProperty(p?.Name ?? "", p?.Value))], MinimumLevel, Filter, UseServerTimestamps);
}

/// <summary>The shape of a key's fields, shared by creating and updating one.</summary>
public sealed class ApiKeyFieldsValidator : AbstractValidator<IApiKeyFields>
{
    public ApiKeyFieldsValidator()
    {
        Include(new UnsupportedFieldsValidator());
        RuleFor(c => c.Title).Must(t => !string.IsNullOrWhiteSpace(t)).WithMessage("An API key needs a title.")
            .Must(t => t is null || t.Trim().Length <= ApiKey.MaximumTitleLength)
            .WithMessage($"An API key's title may be at most {ApiKey.MaximumTitleLength} characters long.")
            .Must(t => t is null || !t.Trim().Any(char.IsControl)).WithMessage("An API key's title may not contain control characters.");

        RuleFor(c => c.Permissions).Must(p => p is { Count: > 0 }).WithMessage("An API key needs at least one permission.");
        RuleForEach(c => c.Permissions).Must(p => p.Parsed is not null)
            .WithMessage((_, p) => $"There is no permission named {p}; the permissions are {string.Join(", ", Enum.GetNames<Permission>())}.");

        When(c => c.Input is not null, () =>
        {
            RuleFor(c => c.Input!.MinimumLevel).Must(l => l is null || ApiKey.CanonicalLevel(l) is not null)
                .WithMessage($"A minimum level must be one of {string.Join(", ", ApiKey.Levels)}.");
            RuleFor(c => c.Input!.AppliedProperties).NotNull().WithMessage("An API key's applied properties must be a list.");
            RuleForEach(c => c.Input!.AppliedProperties).Must(p => p is not null && !string.IsNullOrWhiteSpace(p.Name))
                .WithMessage("An applied property needs a name.")
                .Must(p => p?.Name is null || p.Name.Trim().Length <= ApiKey.MaximumPropertyNameLength)
                .WithMessage($"An applied property's name may be at most {ApiKey.MaximumPropertyNameLength} characters long.")
                .Must(p => p?.Name is null || !p.Name.Trim().Any(char.IsControl))
                .WithMessage("An applied property's name may not contain control characters.")
                .Must(p => p is null || p.ValueIsScalar)
                .WithMessage("An applied property's value must be a string, a number, true, false or null.");
            RuleFor(c => c.Input!.AppliedProperties)
                .Must(ps => ps is null || ps.Where(p => p?.Name is not null).GroupBy(p => p!.Name!.Trim(), StringComparer.Ordinal).All(g => g.Count() == 1))
                .WithMessage("Each applied property may be given only once.");
            RuleFor(c => c.Input!.Filter)
                .Must(f => f is null || (f.Filter?.Length ?? 0) <= ApiKey.MaximumFilterLength && (f.FilterNonStrict?.Length ?? 0) <= ApiKey.MaximumFilterLength
                    && (f.Description?.Length ?? 0) <= ApiKey.MaximumFilterLength)
                .WithMessage($"A filter and its description may be at most {ApiKey.MaximumFilterLength} characters long.");
        });
    }
}

/// <summary>Who may see a key and what they may give one; the handlers apply these to the operation's principal.</summary>
static class ApiKeyAccess
{
    /// <summary>
    /// Organization administrators see every key; Project holders also see the shared keys (they may create them);
    /// everyone else sees only their own personal keys.
    /// </summary>
    public static bool CanSee(Principal principal, string? ownerId) =>
        principal.Has(Permission.Organization) || ownerId is null && principal.Has(Permission.Project) || ownerId is not null && ownerId == principal.UserId;

    public static NotFoundException NotFound(string id) => new($"There is no API key with id {id}.");

    /// <summary>A key may carry only permissions its creator holds, so that making a key never escalates privilege.</summary>
    public static void RequireAssignable(Principal principal, IEnumerable<Permission> permissions)
    {
        foreach (var permission in permissions.Distinct().Order())
        {
            if (!principal.Has(permission))
                throw new AccessDeniedException($"An API key cannot be given the {permission} permission, because the caller does not hold it.");
        }
    }

    /// <summary>
    /// A key may be changed or deleted only by a caller who holds every permission it carries now, so that a less
    /// privileged administrator cannot disarm or rewrite a more powerful credential. Its owner, signed in as a user,
    /// may always delete it: revoking one's own key (a leaked one, say) never raises anyone's privilege. A key acting
    /// for its owner does not count as the owner here, or a leaked weak key could delete its owner's strong ones.
    /// </summary>
    public static void RequireHeld(Principal principal, ApiKey key, bool deleting)
    {
        if (deleting && principal.Type == PrincipalType.User && key.OwnerId is not null && key.OwnerId == principal.UserId)
            return;
        foreach (var permission in key.AssignedPermissions.Order())
        {
            if (!principal.Has(permission))
                throw new AccessDeniedException(
                    $"This API key carries the {permission} permission, which the caller does not hold, so the caller cannot {(deleting ? "delete" : "change")} it.");
        }
    }

    /// <summary>A shared key needs Project, as in Seq; a personal key can only be made for the caller's own user.</summary>
    public static void RequireOwnerAllowed(Principal principal, string? ownerId)
    {
        if (ownerId is null)
        {
            if (!principal.Has(Permission.Project))
                throw new AccessDeniedException("Creating a shared API key (one without an owner) needs the Project permission.");
            return;
        }
        if (ownerId != principal.UserId)
            throw new AccessDeniedException("A personal API key can only be created for the caller's own user.");
    }
}

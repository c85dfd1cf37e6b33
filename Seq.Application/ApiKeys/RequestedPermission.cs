using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

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

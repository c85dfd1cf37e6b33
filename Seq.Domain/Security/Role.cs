namespace Seq.Domain.Security;

/// <summary>A named set of permissions that users are given.</summary>
public sealed record Role(string Id, string Title, IReadOnlySet<Permission> Permissions);

/// <summary>Seq's built-in roles, from least to most privileged. Every role includes <see cref="Permission.Public"/>.</summary>
public static class BuiltInRoles
{
    public static readonly Role UserReadOnly = Make("role-user-readonly", "User (read-only)", Permission.Read);
    public static readonly Role UserReadWrite = Make("role-user-readwrite", "User (read/write)", Permission.Read, Permission.Write);
    public static readonly Role UserReadWriteIngest = Make("role-user-readwriteingest", "User (read/write/ingest)", Permission.Read, Permission.Write, Permission.Ingest);
    public static readonly Role ProjectOwner = Make("role-project-owner", "Project Owner", Permission.Read, Permission.Write, Permission.Ingest, Permission.Project);
    public static readonly Role OrganizationAdministrator = Make("role-organization-administrator", "Organization Administrator",
        Permission.Read, Permission.Write, Permission.Ingest, Permission.Project, Permission.Organization);
    public static readonly Role Administrator = Make("role-administrator", "Administrator", Enum.GetValues<Permission>());

    public static IReadOnlyList<Role> All { get; } =
        [UserReadOnly, UserReadWrite, UserReadWriteIngest, ProjectOwner, OrganizationAdministrator, Administrator];

    public static Role? Find(string id) => All.FirstOrDefault(r => r.Id == id);

    static Role Make(string id, string title, params Permission[] permissions) =>
        new(id, title, new HashSet<Permission>([Permission.Public, .. permissions]));
}

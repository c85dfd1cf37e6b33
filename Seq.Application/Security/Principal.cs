using Seq.Domain.Security;

namespace Seq.Application.Security;

/// <summary>The kind of caller, with the names the audit schema uses.</summary>
public enum PrincipalType
{
    Public,
    User,
    ApiKey,
}

/// <summary>
/// Who is making a request and what they may do. It carries exactly what authorization needs (the permissions)
/// and what auditing records (<see cref="Name"/>, <see cref="Id"/>, <see cref="Type"/>, <see cref="OnBehalfOfUserId"/>).
/// </summary>
public sealed record Principal(PrincipalType Type, string Name, string Id, string? OnBehalfOfUserId, IReadOnlySet<Permission> Permissions)
{
    public const string PublicName = "DefaultPublicPrincipal";
    public const string PublicId = "principal-public";

    static readonly IReadOnlySet<Permission> OnlyPublic = new HashSet<Permission> { Permission.Public };
    static readonly IReadOnlySet<Permission> Everything = new HashSet<Permission>(Enum.GetValues<Permission>());

    /// <summary>An unauthenticated caller while authentication is on.</summary>
    public static Principal Anonymous { get; } = new(PrincipalType.Public, PublicName, PublicId, null, OnlyPublic);

    /// <summary>An unauthenticated caller on an instance that was started without authentication: it may do anything.</summary>
    public static Principal Unrestricted { get; } = new(PrincipalType.Public, PublicName, PublicId, null, Everything);

    /// <summary>The user this principal acts as: the user itself, or the owner of a personal API key.</summary>
    public string? UserId => Type == PrincipalType.User ? Id : OnBehalfOfUserId;

    public bool IsAuthenticated => Type != PrincipalType.Public;

    public bool Has(Permission permission) => Permissions.Contains(permission);
}

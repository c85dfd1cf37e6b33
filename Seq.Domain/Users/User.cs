using Seq.Domain.Security;

namespace Seq.Domain.Users;

/// <summary>A person who logs in with a username and password, and the roles that give them permissions.</summary>
public sealed class User : IEventSourced
{
    public const string StreamType = "User";
    public const string StreamCategory = "users";
    public const string AdministratorId = "user-admin";
    public const int MaximumUsernameLength = 256;
    public const int MaximumDisplayNameLength = 256;
    public const int MaximumEmailAddressLength = 320;
    public const int MaximumPasswordLength = 128;
    public const int MaximumFilterLength = 4096;

    public string Id { get; private set; } = "";
    public string Username { get; private set; } = "";
    public string? DisplayName { get; private set; }
    public string? EmailAddress { get; private set; }
    public IReadOnlyList<string> RoleIds { get; private set; } = [];
    public DescriptiveFilter? ViewFilter { get; private set; }
    public string PasswordHash { get; private set; } = "";
    public bool MustChangePassword { get; private set; }
    public int PasswordVersion { get; private set; }
    public bool Exists { get; private set; }

    public static string StreamIdFor(string userId) => StreamIds.For(StreamCategory, userId);

    public static string NewId() => "user-" + Guid.NewGuid().ToString("N")[..16];

    public static UserCreated Create(string userId, string username, string? displayName, string? emailAddress, IEnumerable<string> roleIds,
        DescriptiveFilter? viewFilter, string passwordHash, bool mustChangePassword, DateTimeOffset now) =>
        new(userId, RequireUsername(username), Normalize(displayName), Normalize(emailAddress), RequireRoles(roleIds), viewFilter,
            passwordHash, mustChangePassword, now);

    /// <summary>Decides a change of profile and roles; a request that changes nothing yields no events.</summary>
    public IReadOnlyList<IDomainEvent> Change(string username, string? displayName, string? emailAddress, IEnumerable<string> roleIds,
        DescriptiveFilter? viewFilter, bool mustChangePassword, DateTimeOffset now)
    {
        RequireExists();
        var change = new UserChanged(Id, RequireUsername(username), Normalize(displayName), Normalize(emailAddress), RequireRoles(roleIds),
            viewFilter, mustChangePassword, now);
        var unchanged = change.Username == Username && change.DisplayName == DisplayName && change.EmailAddress == EmailAddress
                        && change.RoleIds.SequenceEqual(RoleIds) && change.ViewFilter == ViewFilter && change.MustChangePassword == MustChangePassword;
        return unchanged ? [] : [change];
    }

    public UserPasswordChanged SetPassword(string passwordHash, bool mustChangePassword, PasswordChangeReason reason, DateTimeOffset now)
    {
        RequireExists();
        return new UserPasswordChanged(Id, passwordHash, mustChangePassword, PasswordVersion + 1, reason, now);
    }

    public IReadOnlyList<IDomainEvent> Delete(DateTimeOffset now) => Exists ? [new UserDeleted(Id, now)] : [];

    /// <summary>The union of the permissions of the user's roles; role ids that name no role grant nothing.</summary>
    public static IReadOnlySet<Permission> PermissionsOf(IEnumerable<string> roleIds)
    {
        var permissions = new HashSet<Permission> { Permission.Public };
        foreach (var roleId in roleIds)
            if (BuiltInRoles.Find(roleId) is { } role)
                permissions.UnionWith(role.Permissions);
        return permissions;
    }

    public void Apply(IDomainEvent @event)
    {
        switch (@event)
        {
            case UserCreated e:
                (Id, Username, DisplayName, EmailAddress, RoleIds, ViewFilter) = (e.UserId, e.Username, e.DisplayName, e.EmailAddress, e.RoleIds, e.ViewFilter);
                (PasswordHash, MustChangePassword, PasswordVersion, Exists) = (e.PasswordHash, e.MustChangePassword, 1, true);
                break;
            case UserChanged e:
                (Username, DisplayName, EmailAddress, RoleIds, ViewFilter, MustChangePassword) =
                    (e.Username, e.DisplayName, e.EmailAddress, e.RoleIds, e.ViewFilter, e.MustChangePassword);
                break;
            case UserPasswordChanged e:
                (PasswordHash, MustChangePassword, PasswordVersion) = (e.PasswordHash, e.MustChangePassword, e.PasswordVersion);
                break;
            case UserDeleted:
                Exists = false;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, null);
        }
    }

    void RequireExists()
    {
        if (!Exists)
            throw new DomainException($"The user {Id} has been deleted.");
    }

    static string RequireUsername(string username) =>
        string.IsNullOrWhiteSpace(username) || username.Trim().Length > MaximumUsernameLength || username.Trim().Any(char.IsControl)
            ? throw new DomainException($"A user needs a username of 1 to {MaximumUsernameLength} characters, without control characters.")
            : username.Trim();

    static IReadOnlyList<string> RequireRoles(IEnumerable<string> roleIds)
    {
        var roles = roleIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var unknown = roles.FirstOrDefault(id => BuiltInRoles.Find(id) is null);
        return unknown is null ? roles : throw new DomainException($"There is no role with id {unknown}.");
    }

    static string? Normalize(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}

/// <summary>The instance-wide choice of whether requests are authenticated (stream <see cref="StreamId"/>).</summary>
public sealed class InstanceAuthentication : IEventSourced
{
    public const string StreamCategory = "authentication";
    public const string StreamId = StreamCategory + "/" + StreamIds.Instance;
    public const string StreamType = "InstanceAuthentication";

    public bool IsConfigured { get; private set; }
    public bool Enabled { get; private set; } = true;

    public void Apply(IDomainEvent @event)
    {
        if (@event is not AuthenticationConfigured e)
            throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, null);
        (IsConfigured, Enabled) = (true, e.Enabled);
    }
}

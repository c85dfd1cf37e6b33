using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Domain.ApiKeys;

/// <summary>
/// A credential for ingestion and automation. A key with an <see cref="OwnerId"/> is a personal key that acts for
/// that user; one without is shared by the organization.
/// </summary>
public sealed class ApiKey : IEventSourced
{
    public const string StreamType = "ApiKey";
    public const string StreamCategory = "apikeys";
    public const int MaximumTitleLength = 200;
    public const int MaximumPropertyNameLength = 200;
    public const int MaximumFilterLength = 4096;

    /// <summary>The names of Seq's event levels, the only values a key's minimum level may take.</summary>
    public static IReadOnlyList<string> Levels { get; } = ["Verbose", "Debug", "Information", "Warning", "Error", "Fatal"];

    public string Id { get; private set; } = "";
    public string Title { get; private set; } = "";
    public string TokenPrefix { get; private set; } = "";
    public byte[] TokenSalt { get; private set; } = [];
    public byte[] TokenHash { get; private set; } = [];
    public IReadOnlySet<Permission> AssignedPermissions { get; private set; } = new HashSet<Permission>();
    public string? OwnerId { get; private set; }
    public InputSettings InputSettings { get; private set; } = InputSettings.None;
    public bool Exists { get; private set; }

    public static string StreamIdFor(string apiKeyId) => StreamIds.For(StreamCategory, apiKeyId);

    public static string NewId() => "apikey-" + Guid.NewGuid().ToString("N")[..16];

    public static ApiKeyCreated Create(string apiKeyId, string title, string tokenPrefix, byte[] tokenSalt, byte[] tokenHash,
        IEnumerable<Permission> permissions, string? ownerId, InputSettings inputSettings, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(tokenPrefix) || tokenSalt.Length == 0 || tokenHash.Length == 0)
            throw new DomainException("An API key needs a token prefix, salt and hash.");
        if (ownerId is not null && string.IsNullOrWhiteSpace(ownerId))
            throw new DomainException("A personal API key needs the id of its owner.");
        return new ApiKeyCreated(apiKeyId, RequireTitle(title), tokenPrefix, tokenSalt, tokenHash, RequirePermissions(permissions), ownerId,
            Normalize(inputSettings), now);
    }

    /// <summary>Decides a change of title, permissions and input settings; a request that changes nothing yields no events.</summary>
    public IReadOnlyList<IDomainEvent> Change(string title, IEnumerable<Permission> permissions, InputSettings inputSettings, DateTimeOffset now)
    {
        if (!Exists)
            throw new DomainException($"The API key {Id} has been deleted.");

        var change = new ApiKeyChanged(Id, RequireTitle(title), RequirePermissions(permissions), Normalize(inputSettings), now);
        var unchanged = change.Title == Title && AssignedPermissions.SetEquals(change.AssignedPermissions) && change.InputSettings == InputSettings;
        return unchanged ? [] : [change];
    }

    public IReadOnlyList<IDomainEvent> Delete(DateTimeOffset now) => Exists ? [new ApiKeyDeleted(Id, now)] : [];

    public void Apply(IDomainEvent @event)
    {
        switch (@event)
        {
            case ApiKeyCreated e:
                (Id, Title, TokenPrefix, TokenSalt, TokenHash) = (e.ApiKeyId, e.Title, e.TokenPrefix, e.TokenSalt, e.TokenHash);
                (AssignedPermissions, OwnerId, InputSettings, Exists) = (e.AssignedPermissions.ToHashSet(), e.OwnerId, e.InputSettings, true);
                break;
            case ApiKeyChanged e:
                (Title, AssignedPermissions, InputSettings) = (e.Title, e.AssignedPermissions.ToHashSet(), e.InputSettings);
                break;
            case ApiKeyDeleted:
                Exists = false;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, null);
        }
    }

    /// <summary>The canonical name of a level given in any letter case, or null when it names no level.</summary>
    public static string? CanonicalLevel(string? level) =>
        level is null ? null : Levels.FirstOrDefault(l => string.Equals(l, level.Trim(), StringComparison.OrdinalIgnoreCase));

    static string RequireTitle(string? title) =>
        string.IsNullOrWhiteSpace(title) || title.Trim().Length > MaximumTitleLength || title.Trim().Any(char.IsControl)
            ? throw new DomainException($"An API key needs a title of 1 to {MaximumTitleLength} characters, without control characters.")
            : title.Trim();

    static IReadOnlyList<Permission> RequirePermissions(IEnumerable<Permission> permissions)
    {
        var distinct = permissions.Distinct().Order().ToList();
        if (distinct.Count == 0)
            throw new DomainException("An API key needs at least one permission.");
        var undefined = distinct.Where(p => !Enum.IsDefined(p)).ToList();
        return undefined.Count == 0 ? distinct : throw new DomainException($"There is no permission {undefined[0]}.");
    }

    static InputSettings Normalize(InputSettings settings)
    {
        var level = settings.MinimumLevel is null ? null
            : CanonicalLevel(settings.MinimumLevel) ?? throw new DomainException($"A minimum level must be one of {string.Join(", ", Levels)}.");

        var properties = new List<InputAppliedProperty>(settings.AppliedProperties.Count);
        foreach (var property in settings.AppliedProperties)
        {
            var name = property.Name?.Trim();
            if (string.IsNullOrEmpty(name) || name.Length > MaximumPropertyNameLength || name.Any(char.IsControl))
                throw new DomainException($"An applied property needs a name of 1 to {MaximumPropertyNameLength} characters, without control characters.");
            if (properties.Any(p => p.Name == name))
                throw new DomainException($"The applied property {name} is given more than once.");
            properties.Add(new InputAppliedProperty(name, property.Value));
        }

        return new InputSettings(properties, level, NormalizeFilter(settings.Filter), settings.UseServerTimestamps);
    }

    // A filter without an expression filters nothing, so it is the same as no filter at all.
    static DescriptiveFilter? NormalizeFilter(DescriptiveFilter? filter)
    {
        if (filter is null || string.IsNullOrWhiteSpace(filter.Filter))
            return null;
        if (filter.Filter.Length > MaximumFilterLength || filter.FilterNonStrict?.Length > MaximumFilterLength || filter.Description?.Length > MaximumFilterLength)
            throw new DomainException($"A filter and its description may be at most {MaximumFilterLength} characters long.");
        return filter with
        {
            Description = string.IsNullOrWhiteSpace(filter.Description) ? null : filter.Description.Trim(),
            FilterNonStrict = string.IsNullOrWhiteSpace(filter.FilterNonStrict) ? null : filter.FilterNonStrict,
        };
    }
}

namespace Seq.Domain.Feeds;

/// <summary>A NuGet feed from which apps are installed: a URL or, for air-gapped servers, a local folder.</summary>
public sealed class NuGetFeed : IEventSourced
{
    public const string StreamType = "NuGetFeed";
    public const string StreamCategory = "nugetfeeds";
    public const int MaximumNameLength = 100;
    public const int MaximumLocationLength = 2048;
    public const int MaximumUsernameLength = 256;
    public const int MaximumPasswordLength = 1024;

    public string Id { get; private set; } = "";
    public string Name { get; private set; } = "";
    public string Location { get; private set; } = "";
    public string? Username { get; private set; }
    public string? ProtectedPassword { get; private set; }
    public bool Exists { get; private set; }

    public static string StreamIdFor(string feedId) => StreamIds.For(StreamCategory, feedId);

    public static NuGetFeedCreated Create(string feedId, string name, string location, string? username, string? protectedPassword, DateTimeOffset now) =>
        new(feedId, RequireName(name), RequireLocation(location), Normalize(username), protectedPassword, now);

    /// <summary>Decides a change; a request that changes nothing yields no events.</summary>
    public IReadOnlyList<IDomainEvent> Change(string name, string location, string? username, PasswordChange password, DateTimeOffset now)
    {
        if (!Exists)
            throw new DomainException($"The feed {Id} has been deleted.");

        var events = new List<IDomainEvent>();
        name = RequireName(name);
        location = RequireLocation(location);
        username = Normalize(username);
        if (name != Name || location != Location || username != Username)
            events.Add(new NuGetFeedChanged(Id, name, location, username, now));
        if (password.IsChange)
            events.Add(new NuGetFeedPasswordChanged(Id, password.ProtectedValue, now));
        return events;
    }

    public IReadOnlyList<IDomainEvent> Delete(DateTimeOffset now) => Exists ? [new NuGetFeedDeleted(Id, now)] : [];

    public void Apply(IDomainEvent @event)
    {
        switch (@event)
        {
            case NuGetFeedCreated e:
                (Id, Name, Location, Username, ProtectedPassword, Exists) = (e.FeedId, e.Name, e.Location, e.Username, e.ProtectedPassword, true);
                break;
            case NuGetFeedChanged e:
                (Name, Location, Username) = (e.Name, e.Location, e.Username);
                break;
            case NuGetFeedPasswordChanged e:
                ProtectedPassword = e.ProtectedPassword;
                break;
            case NuGetFeedDeleted:
                Exists = false;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, null);
        }
    }

    /// <summary>Whether a location is a feed URL (http or https) or an absolute local folder.</summary>
    public static bool IsValidLocation(string? location) =>
        !string.IsNullOrWhiteSpace(location)
        && location.Trim().Length <= MaximumLocationLength
        && Uri.TryCreate(location.Trim(), UriKind.Absolute, out var uri)
        && (uri.Scheme is "http" or "https" || uri.IsFile && Path.IsPathFullyQualified(location.Trim()));

    static string RequireName(string name) =>
        string.IsNullOrWhiteSpace(name) || name.Trim().Length > MaximumNameLength
            ? throw new DomainException($"A feed needs a name of 1 to {MaximumNameLength} characters.")
            : name.Trim();

    static string RequireLocation(string location) =>
        IsValidLocation(location) ? location.Trim()
            : throw new DomainException("A feed's location must be an http or https URL, or the full path of a local folder.");

    static string? Normalize(string? username) => string.IsNullOrWhiteSpace(username) ? null : username.Trim();
}

/// <summary>What a request does to a feed's password: leave it, set it (already protected), or clear it.</summary>
public readonly record struct PasswordChange(bool IsChange, string? ProtectedValue)
{
    public static readonly PasswordChange Unchanged = new(false, null);
    public static readonly PasswordChange Clear = new(true, null);
    public static PasswordChange To(string protectedValue) => new(true, protectedValue);
}

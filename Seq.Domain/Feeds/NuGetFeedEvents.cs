namespace Seq.Domain.Feeds;

// ProtectedPassword is ciphertext made under the instance's secret key before the event exists: a feed's
// password in clear never enters an event, a projection or a log.
public sealed record NuGetFeedCreated(string FeedId, string Name, string Location, string? Username, string? ProtectedPassword, DateTimeOffset CreatedAt) : IDomainEvent;

public sealed record NuGetFeedChanged(string FeedId, string Name, string Location, string? Username, DateTimeOffset ChangedAt) : IDomainEvent;

public sealed record NuGetFeedPasswordChanged(string FeedId, string? ProtectedPassword, DateTimeOffset ChangedAt) : IDomainEvent;

public sealed record NuGetFeedDeleted(string FeedId, DateTimeOffset DeletedAt) : IDomainEvent;

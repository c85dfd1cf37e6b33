using Seq.Application.Auditing;

namespace Seq.Application.Feeds;

/// <summary>A feed as callers see it: whether a password is set, never the password.</summary>
public sealed record NuGetFeedView(string Id, string Name, string Location, string? Username, bool IsPasswordSet) : IAuditedResult
{
    public IEnumerable<KeyValuePair<string, object?>> AuditProperties => [new("FeedId", Id)];
}

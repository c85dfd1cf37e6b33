using Seq.Domain;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// A point in the global feed. The feed is ordered by the writing transaction's id, then by sequence, so that a
/// reader that stays below the oldest running transaction never passes an event that commits later.
/// </summary>
public readonly record struct FeedPosition(ulong Transaction, long Sequence)
{
    public static readonly FeedPosition Start = new(0, 0);
}

/// <summary>An event about to be appended, as an inline projection sees it.</summary>
public sealed record PendingEvent(string StreamId, long Version, Guid EventId, IDomainEvent Data, EventMetadata Metadata, DateTimeOffset Timestamp);

/// <summary>A committed event read back from the store.</summary>
public sealed record RecordedEvent(
    FeedPosition Position, string StreamId, long Version, Guid EventId, string Type,
    IDomainEvent Data, EventMetadata Metadata, DateTimeOffset Created);

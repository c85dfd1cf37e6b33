using Seq.Domain;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>A committed event read back from the store.</summary>
public sealed record RecordedEvent(
    FeedPosition Position, string StreamId, long Version, Guid EventId, string Type,
    IDomainEvent Data, EventMetadata Metadata, DateTimeOffset Created);

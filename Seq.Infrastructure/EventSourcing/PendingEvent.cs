using Seq.Domain;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>An event about to be appended, as an inline projection sees it.</summary>
public sealed record PendingEvent(string StreamId, long Version, Guid EventId, IDomainEvent Data, EventMetadata Metadata, DateTimeOffset Timestamp);

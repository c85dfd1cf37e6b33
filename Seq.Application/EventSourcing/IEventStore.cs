using Seq.Domain;

namespace Seq.Application.EventSourcing;

/// <summary>
/// Streams of domain events with optimistic concurrency. A successful append has also run every inline
/// projection in the same transaction, so the next query sees its effect.
/// </summary>
public interface IEventStore
{
    /// <summary>Rebuilds an aggregate from its stream; a stream that does not exist yields a new aggregate at version 0.</summary>
    Task<Loaded<T>> LoadAsync<T>(string streamId, CancellationToken cancellationToken) where T : IEventSourced, new();

    /// <summary>
    /// Appends events if the stream is still at <paramref name="expectedVersion"/> (0 for a stream that must not
    /// exist yet) and returns the stream's new version.
    /// </summary>
    /// <exception cref="ConcurrencyException">Another writer changed the stream first.</exception>
    Task<long> AppendAsync(string streamId, string streamType, long expectedVersion, IReadOnlyList<IDomainEvent> events, CancellationToken cancellationToken);

    /// <summary>
    /// Appends to several streams in one transaction, for a change that is only whole when every part of it is
    /// stored: each stream must be at its expected version, and either every event is stored or none is.
    /// </summary>
    /// <exception cref="ConcurrencyException">Another writer changed one of the streams first; nothing was appended.</exception>
    Task AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken);
}

public sealed record Loaded<T>(T Aggregate, long Version);

/// <summary>One stream's part of an append to several streams.</summary>
public sealed record StreamAppend(string StreamId, string StreamType, long ExpectedVersion, IReadOnlyList<IDomainEvent> Events);

/// <summary>The stream changed between load and append; the caller may reload and decide again.</summary>
public sealed class ConcurrencyException(string streamId, long expectedVersion)
    : Exception($"The resource was changed by another request (stream {streamId}, expected version {expectedVersion}); reload it and try again.")
{
    public string StreamId { get; } = streamId;
    public long ExpectedVersion { get; } = expectedVersion;
}

/// <summary>
/// The append would have made a read model hold two items that must be unique (such as two feeds of one name),
/// because another request created the first at the same moment. Nothing was appended.
/// </summary>
public sealed class UniquenessConflictException()
    : Exception("The change conflicts with one made at the same time: something that must be unique already exists. Reload and try again.");

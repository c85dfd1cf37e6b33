using Seq.Application.Filtering;

namespace Seq.Application.Events;

/// <summary>
/// One log event as ingestion hands it to storage: the CLEF fields that have columns, and every other property as
/// one JSON object (<see cref="PropertiesJson"/>). <see cref="Renderings"/> is the <c>@r</c> array as JSON, or null.
/// </summary>
public sealed record LogEvent(
    DateTimeOffset Timestamp, string Level, string? MessageTemplate, string? RenderedMessage, string? Exception, uint? EventType,
    string? TraceId, string? SpanId, string? ParentSpanId, DateTimeOffset? SpanStart, string? SpanKind, string? Renderings, string PropertiesJson);

/// <summary>A stored log event: its id (which encodes its timestamp and place in the ingestion order) and its content.</summary>
public sealed record StoredLogEvent(string Id, LogEvent Event);

/// <summary>Writes log events to storage, all of one batch or none of them.</summary>
public interface ILogEventWriter
{
    Task WriteAsync(IReadOnlyList<LogEvent> events, CancellationToken cancellationToken);
}

/// <summary>
/// What a search asks of storage; <see cref="Filters"/> are ANDed, each already parsed. <see cref="AfterId"/> starts
/// after an event (exclusive), <see cref="StartAtId"/> at one (inclusive).
/// </summary>
public sealed record LogEventQuery(
    int Count, DateTimeOffset? From, DateTimeOffset? To, string? AfterId, IReadOnlyList<FilterExpression> Filters, string? StartAtId = null);

public interface ILogEventReader
{
    /// <summary>The newest events first (by timestamp, then ingestion order) that match every filter.</summary>
    Task<IReadOnlyList<StoredLogEvent>> SearchAsync(LogEventQuery query, CancellationToken cancellationToken);

    bool IsEventId(string id);

    Task<StoredLogEvent?> FindAsync(string id, IReadOnlyList<FilterExpression> filters, CancellationToken cancellationToken);
}

/// <summary>A request body that is not valid CLEF; nothing of it was stored (HTTP 400).</summary>
public sealed class PayloadValidationException(string reason, int line)
    : Exception($"Payload validation failed: {reason} (line {line}).")
{
    public int Line { get; } = line;
}

/// <summary>A request body over the configured maximum (HTTP 413).</summary>
public sealed class PayloadTooLargeException(long maximum)
    : Exception($"The request body is larger than the maximum of {maximum} bytes (setting RawPayloadMaximumContentLength).");

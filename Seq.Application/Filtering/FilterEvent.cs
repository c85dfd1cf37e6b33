using System.Text.Json;

namespace Seq.Application.Filtering;

/// <summary>
/// What a filter sees of a log event. <paramref name="Properties"/> is a JSON object of the event's user properties;
/// the other fields are the built-ins (<c>@Timestamp</c>, <c>@Level</c>, …), null where the event has none.
/// </summary>
public sealed record FilterEvent(
    DateTimeOffset Timestamp,
    string? Level,
    string? MessageTemplate,
    string? RenderedMessage,
    string? Exception,
    uint? EventType,
    string? TraceId,
    string? SpanId,
    JsonElement Properties);

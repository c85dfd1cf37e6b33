using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Seq.Application.Events;

namespace Seq.Tests.Events;

/// <summary>
/// The first CLEF parser (a JsonDocument per line), kept as the reference the one-pass parser of ADR 0041 is checked
/// against in <see cref="ClefParserEquivalenceTests"/>.
/// </summary>
static class ClefParserReference
{
    static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <param name="maximumEventBytes">The longest line accepted, in bytes (setting RawEventMaximumContentLength).</param>
    /// <exception cref="PayloadValidationException">A line is not a CLEF event.</exception>
    public static List<LogEvent> Parse(ReadOnlyMemory<byte> payload, long maximumEventBytes, IReadOnlyList<KeyValuePair<string, string?>> appliedProperties)
    {
        var events = new List<LogEvent>();
        var line = 0;
        var rest = payload;
        while (!rest.IsEmpty)
        {
            line++;
            var end = rest.Span.IndexOf((byte)'\n');
            var current = end < 0 ? rest : rest[..end];
            rest = end < 0 ? ReadOnlyMemory<byte>.Empty : rest[(end + 1)..];
            if (current.Length > maximumEventBytes)
                throw new PayloadValidationException($"the event is larger than the maximum of {maximumEventBytes} bytes (setting RawEventMaximumContentLength)", line);
            if (current.Span.Trim(" \t\r"u8).IsEmpty)
                continue;
            events.Add(ParseLine(current, line, appliedProperties));
        }
        return events;
    }

    static LogEvent ParseLine(ReadOnlyMemory<byte> text, int line, IReadOnlyList<KeyValuePair<string, string?>> appliedProperties)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, DocumentOptions);
        }
        catch (JsonException)
        {
            throw new PayloadValidationException("the line is not a JSON object", line);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new PayloadValidationException("the line is not a JSON object", line);
            try
            {
                return Read(root, line, appliedProperties);
            }
            catch (InvalidOperationException)
            {
                // System.Text.Json refuses to decode a string holding an unpaired surrogate escape.
                throw new PayloadValidationException("the event holds text that is not valid Unicode", line);
            }
        }
    }

    static LogEvent Read(JsonElement root, int line, IReadOnlyList<KeyValuePair<string, string?>> appliedProperties)
    {
        DateTimeOffset? timestamp = null;
        string? level = null, template = null, message = null, exception = null, traceId = null, spanId = null, parentSpanId = null, spanKind = null, renderings = null;
        uint? eventType = null;
        DateTimeOffset? spanStart = null;
        var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);

        foreach (var field in root.EnumerateObject())
        {
            var name = field.Name;
            RequireStorable(name, line);
            switch (name)
            {
                case "@t": timestamp = Timestamp(field.Value, "@t", line); break;
                case "@l": level = Text(field.Value, "@l", line); break;
                case "@mt": template = Text(field.Value, "@mt", line); break;
                case "@m": message = Text(field.Value, "@m", line); break;
                case "@x": exception = Text(field.Value, "@x", line); break;
                case "@tr": traceId = Text(field.Value, "@tr", line); break;
                case "@sp": spanId = Text(field.Value, "@sp", line); break;
                case "@ps": parentSpanId = Text(field.Value, "@ps", line); break;
                case "@sk": spanKind = Text(field.Value, "@sk", line); break;
                case "@st": spanStart = Timestamp(field.Value, "@st", line); break;
                case "@i": eventType = EventType(field.Value, line); break;
                case "@r":
                    if (field.Value.ValueKind != JsonValueKind.Array || field.Value.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
                        throw new PayloadValidationException("the @r field must be an array of strings", line);
                    renderings = Json(field.Value, line);
                    break;
                default:
                    // "@@name" is a property named "@name"; any other name, even an unknown "@" one, is the user's.
                    properties[name.StartsWith("@@", StringComparison.Ordinal) ? name[1..] : name] = field.Value;
                    break;
            }
        }

        if (timestamp is null)
            throw new PayloadValidationException("the event has no @t timestamp", line);
        foreach (var property in properties.Values)
            RequireStorable(property, line);
        var json = PropertiesJson(properties, appliedProperties);
        if (message is null && template is not null)
        {
            using var applied = appliedProperties.Count == 0 ? null : JsonDocument.Parse(json);
            message = MessageTemplate.Render(template, name =>
                applied is not null ? (applied.RootElement.TryGetProperty(name, out var a) ? a : null)
                : properties.TryGetValue(name, out var p) ? p : null, renderings);
        }
        return new LogEvent(timestamp.Value, Levels.Canonical(level) ?? level ?? Levels.Information, template, message, exception,
            eventType ?? (template is null ? null : MessageTemplate.EventTypeOf(template)),
            traceId, spanId, parentSpanId, spanStart, spanKind, renderings, json);
    }

    static string Text(JsonElement value, string field, int line)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw new PayloadValidationException($"the {field} field must be a string", line);
        var text = value.GetString()!;
        RequireStorable(text, line);
        return text;
    }

    static DateTimeOffset Timestamp(JsonElement value, string field, int line)
    {
        if (value.ValueKind != JsonValueKind.String
            || !DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            throw new PayloadValidationException($"the {field} field must be an ISO 8601 timestamp", line);
        // PostgreSQL keeps microseconds; the event is what will be read back.
        return new DateTimeOffset(parsed.UtcTicks - parsed.UtcTicks % 10, TimeSpan.Zero);
    }

    static uint EventType(JsonElement value, int line)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetUInt32(out var number))
            return number;
        if (value.ValueKind == JsonValueKind.String)
        {
            var text = value.GetString()!;
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
                text = text[2..];
            if (text.Length is > 0 and <= 8 && uint.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
                return hex;
        }
        throw new PayloadValidationException("the @i field must be a 32-bit event type, as a number or in hexadecimal", line);
    }

    static string Json(JsonElement value, int line)
    {
        RequireStorable(value, line);
        return value.GetRawText();
    }

    static void RequireStorable(string text, int line)
    {
        if (text.Contains('\0'))
            throw new PayloadValidationException("the event holds a NUL character, which cannot be stored", line);
    }

    static void RequireStorable(JsonElement value, int line)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                RequireStorable(value.GetString()!, line);
                break;
            case JsonValueKind.Number:
                if (!value.TryGetDouble(out var number) || !double.IsFinite(number))
                    throw new PayloadValidationException("the event holds a number out of range", line);
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                    RequireStorable(item, line);
                break;
            case JsonValueKind.Object:
                foreach (var member in value.EnumerateObject())
                {
                    RequireStorable(member.Name, line);
                    RequireStorable(member.Value, line);
                }
                break;
        }
    }

    /// <summary>
    /// The properties as one JSON object, written afresh so that what storage gets is exactly what was checked; the
    /// key's applied properties replace same-named ones (their values are text, or null).
    /// </summary>
    static string PropertiesJson(Dictionary<string, JsonElement> properties, IReadOnlyList<KeyValuePair<string, string?>> appliedProperties)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in properties)
            {
                if (appliedProperties.Count > 0 && appliedProperties.Any(a => a.Key == name))
                    continue;
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }
            foreach (var (name, value) in appliedProperties)
            {
                if (value is null)
                    writer.WriteNull(name);
                else
                    writer.WriteString(name, value);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

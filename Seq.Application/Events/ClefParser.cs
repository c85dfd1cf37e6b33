using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Seq.Application.Events;

/// <summary>
/// Reads newline-delimited CLEF. Every line is checked before any is stored: a request is taken whole or refused
/// whole, with the first bad line's number. Values that PostgreSQL could not store (a NUL character, an unpaired
/// surrogate or invalid UTF-8, a number beyond any float) are refused here, so storage never sees them.
/// </summary>
/// <remarks>
/// One forward pass of a <see cref="Utf8JsonReader"/> over each line's bytes (ADR 0041): every token is checked where
/// it stands, and a property's value is then copied to the properties object as the very bytes that were checked.
/// The state that can be reused (buffers, the writer) lives for one request, not one event.
/// </remarks>
public static class ClefParser
{
    static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <summary>Templates seen before, with their tokens and event type: a logger sends few templates many times.</summary>
    static readonly ConcurrentDictionary<string, ParsedTemplate> Templates = new(StringComparer.Ordinal);

    static readonly ConcurrentDictionary<string, ParsedTemplate>.AlternateLookup<ReadOnlySpan<char>> TemplatesBySpan =
        Templates.GetAlternateLookup<ReadOnlySpan<char>>();

    const int MaximumCachedTemplates = 10_000;

    sealed record ParsedTemplate(string Text, IReadOnlyList<TemplateToken> Tokens, uint EventType);

    /// <param name="maximumEventBytes">The longest line accepted, in bytes (setting RawEventMaximumContentLength).</param>
    /// <param name="window">The <c>@t</c> timestamps accepted; none when the server's clock replaces them.</param>
    /// <exception cref="PayloadValidationException">A line is not a CLEF event, or its timestamp is outside the window.</exception>
    public static List<LogEvent> Parse(ReadOnlyMemory<byte> payload, long maximumEventBytes, IReadOnlyList<KeyValuePair<string, string?>> appliedProperties,
        TimestampWindow? window = null)
    {
        var events = new List<LogEvent>();
        var parser = new LineParser(appliedProperties, window);
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
            events.Add(parser.Parse(current, line));
        }
        return events;
    }

    /// <summary>A top-level property: its name (after <c>@@</c> unescaping) and where its value's JSON lies in the line.</summary>
    readonly record struct Property(string Name, int Start, int End, JsonTokenType Kind);

    /// <summary>Where a name first appears and where its last value (the one kept) is.</summary>
    record struct Occurrence(int First, int Last);

    sealed class LineParser(IReadOnlyList<KeyValuePair<string, string?>> appliedProperties, TimestampWindow? window)
    {
        readonly List<Property> _properties = new(16);
        readonly Dictionary<string, Occurrence> _names = new(StringComparer.Ordinal);
        readonly ArrayBufferWriter<byte> _output = new(512);
        readonly Utf8JsonWriter _writer = new(Stream.Null, WriterOptions);
        readonly StringBuilder _message = new(256);

        public LogEvent Parse(ReadOnlyMemory<byte> text, int line)
        {
            try
            {
                return Read(text, line);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or PayloadValidationException)
            {
                // A line that is not JSON at all is reported as such, even when a field before its flaw was refused first.
                if (e is JsonException || !IsJson(text.Span))
                    throw new PayloadValidationException("the line is not a JSON object", line);
                // System.Text.Json refuses to decode invalid UTF-8, or a string holding an unpaired surrogate escape.
                if (e is InvalidOperationException)
                    throw new PayloadValidationException("the event holds text that is not valid Unicode", line);
                throw;
            }
        }

        static bool IsJson(ReadOnlySpan<byte> text)
        {
            var reader = new Utf8JsonReader(text, ReaderOptions);
            try
            {
                while (reader.Read())
                {
                }
                return true;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        LogEvent Read(ReadOnlyMemory<byte> memory, int line)
        {
            var text = memory.Span;
            var reader = new Utf8JsonReader(text, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new PayloadValidationException("the line is not a JSON object", line);

            _properties.Clear();
            _names.Clear();
            DateTimeOffset? timestamp = null, spanStart = null;
            string? level = null, message = null, exception = null, traceId = null, spanId = null, parentSpanId = null, spanKind = null, renderings = null;
            ParsedTemplate? template = null;
            uint? eventType = null;

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = Field(ref reader, line, out var name);
                reader.Read();
                switch (field)
                {
                    case ClefField.Timestamp: timestamp = Timestamp(ref reader, "@t", line); break;
                    case ClefField.Level: level = Text(ref reader, "@l", line); break;
                    case ClefField.Template: template = Template(ref reader, line); break;
                    case ClefField.Message: message = Text(ref reader, "@m", line); break;
                    case ClefField.Exception: exception = Text(ref reader, "@x", line); break;
                    case ClefField.TraceId: traceId = Text(ref reader, "@tr", line); break;
                    case ClefField.SpanId: spanId = Text(ref reader, "@sp", line); break;
                    case ClefField.ParentSpanId: parentSpanId = Text(ref reader, "@ps", line); break;
                    case ClefField.SpanKind: spanKind = Text(ref reader, "@sk", line); break;
                    case ClefField.SpanStart: spanStart = Timestamp(ref reader, "@st", line); break;
                    case ClefField.EventType: eventType = EventType(ref reader, line); break;
                    case ClefField.Renderings: renderings = Renderings(ref reader, text, line); break;
                    default:
                        var start = (int)reader.TokenStartIndex;
                        var kind = reader.TokenType;
                        SkipChecked(ref reader, line);
                        Remember(new Property(name!, start, ValueEnd(ref reader, kind), kind));
                        break;
                }
            }
            // Anything after the object's end but white space is not one JSON value (the reader throws on it).
            if (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != 0 || reader.Read())
                throw new PayloadValidationException("the line is not a JSON object", line);

            if (timestamp is null)
                throw new PayloadValidationException("the event has no @t timestamp", line);
            window?.Check(timestamp.Value, line);
            var json = PropertiesJson(text);
            if (message is null && template is not null)
                message = Render(template, memory, renderings);
            return new LogEvent(timestamp.Value, Levels.Canonical(level) ?? level ?? Levels.Information, template?.Text, message, exception,
                eventType ?? template?.EventType, traceId, spanId, parentSpanId, spanStart, spanKind, renderings, json);
        }

        void Remember(Property property)
        {
            var index = _properties.Count;
            _properties.Add(property);
            _names[property.Name] = _names.TryGetValue(property.Name, out var seen) ? seen with { Last = index } : new Occurrence(index, index);
        }

        /// <summary>
        /// The properties as one JSON object, each value the bytes checked above; the key's applied properties replace
        /// same-named ones (their values are text, or null). A repeated name keeps its last value.
        /// </summary>
        string PropertiesJson(ReadOnlySpan<byte> text)
        {
            _output.ResetWrittenCount();
            _writer.Reset(_output);
            _writer.WriteStartObject();
            for (var i = 0; i < _properties.Count; i++)
            {
                var name = _properties[i].Name;
                var occurrence = _names[name];
                if (occurrence.First != i || IsApplied(name))
                    continue;
                var kept = _properties[occurrence.Last];
                _writer.WritePropertyName(name);
                _writer.WriteRawValue(text[kept.Start..kept.End], skipInputValidation: true);
            }
            foreach (var (name, value) in appliedProperties)
            {
                if (value is null)
                    _writer.WriteNull(name);
                else
                    _writer.WriteString(name, value);
            }
            _writer.WriteEndObject();
            _writer.Flush();
            return Encoding.UTF8.GetString(_output.WrittenSpan);
        }

        bool IsApplied(string name)
        {
            foreach (var applied in appliedProperties)
                if (applied.Key == name)
                    return true;
            return false;
        }

        /// <summary>
        /// The message as Serilog renders it: a hole with a format takes the next of <paramref name="renderings"/> (the
        /// <c>@r</c> array) when there is one; strings are quoted unless formatted <c>l</c>; a missing property stays a hole.
        /// </summary>
        string Render(ParsedTemplate template, ReadOnlyMemory<byte> line, string? renderings)
        {
            List<string>? rendered = null;
            if (renderings is not null)
            {
                using var document = JsonDocument.Parse(renderings);
                rendered = [.. document.RootElement.EnumerateArray().Select(r => r.GetString() ?? "")];
            }
            var next = 0;
            _message.Clear();
            foreach (var token in template.Tokens)
            {
                if (token.Text is not null) { _message.Append(token.Text); continue; }
                if (token.Format is not null && rendered is not null && next < rendered.Count)
                {
                    _message.Append(rendered[next++]);
                    continue;
                }
                _message.Append(Formatted(token.PropertyName!, token.Format, line) ?? token.RawText);
            }
            return _message.ToString();
        }

        string? Formatted(string name, string? format, ReadOnlyMemory<byte> line)
        {
            foreach (var (appliedName, value) in appliedProperties)
                if (appliedName == name)
                    return value is null ? "null" : FormatString(value, format);
            if (!_names.TryGetValue(name, out var occurrence))
                return null;
            var property = _properties[occurrence.Last];
            var json = line[property.Start..property.End];
            switch (property.Kind)
            {
                case JsonTokenType.String:
                    var reader = new Utf8JsonReader(json.Span);
                    reader.Read();
                    return FormatString(reader.GetString()!, format);
                case JsonTokenType.Number: return Encoding.UTF8.GetString(json.Span);
                case JsonTokenType.True: return "True";
                case JsonTokenType.False: return "False";
                case JsonTokenType.Null: return "null";
                default:
                    using (var document = JsonDocument.Parse(json))
                        return MessageTemplate.Format(document.RootElement, format);
            }
        }

        static string FormatString(string value, string? format) =>
            format is not null && format.Contains('l') ? value : JsonSerializer.Serialize(value);
    }

    enum ClefField { Property, Timestamp, Level, Template, Message, Exception, TraceId, SpanId, ParentSpanId, SpanKind, SpanStart, EventType, Renderings }

    /// <summary>Which CLEF field a property name is; for a user property, <paramref name="name"/> is its name.</summary>
    static ClefField Field(ref Utf8JsonReader reader, int line, out string? name)
    {
        name = null;
        string text;
        if (!reader.ValueIsEscaped)
        {
            var raw = reader.ValueSpan;
            if (raw.Length is >= 2 and <= 3 && raw[0] == (byte)'@' && Known(raw) is var known && known != ClefField.Property)
                return known;
            RequireValidUtf8(raw);
            text = reader.GetString()!;
        }
        else
        {
            text = reader.GetString()!;
            RequireStorable(text, line);
            if (text.Length is >= 2 and <= 3 && text[0] == '@' && Known(Encoding.UTF8.GetBytes(text)) is var known && known != ClefField.Property)
                return known;
        }
        // "@@name" is a property named "@name"; any other name, even an unknown "@" one, is the user's.
        name = text.StartsWith("@@", StringComparison.Ordinal) ? text[1..] : text;
        return ClefField.Property;
    }

    static ClefField Known(ReadOnlySpan<byte> name) => name switch
    {
        _ when name.SequenceEqual("@t"u8) => ClefField.Timestamp,
        _ when name.SequenceEqual("@l"u8) => ClefField.Level,
        _ when name.SequenceEqual("@mt"u8) => ClefField.Template,
        _ when name.SequenceEqual("@m"u8) => ClefField.Message,
        _ when name.SequenceEqual("@x"u8) => ClefField.Exception,
        _ when name.SequenceEqual("@tr"u8) => ClefField.TraceId,
        _ when name.SequenceEqual("@sp"u8) => ClefField.SpanId,
        _ when name.SequenceEqual("@ps"u8) => ClefField.ParentSpanId,
        _ when name.SequenceEqual("@sk"u8) => ClefField.SpanKind,
        _ when name.SequenceEqual("@st"u8) => ClefField.SpanStart,
        _ when name.SequenceEqual("@i"u8) => ClefField.EventType,
        _ when name.SequenceEqual("@r"u8) => ClefField.Renderings,
        _ => ClefField.Property,
    };

    static string Text(ref Utf8JsonReader reader, string field, int line)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new PayloadValidationException($"the {field} field must be a string", line);
        return CheckedString(ref reader, line);
    }

    static ParsedTemplate Template(ref Utf8JsonReader reader, int line)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new PayloadValidationException("the @mt field must be a string", line);
        var raw = reader.ValueSpan;
        char[]? rented = null;
        Span<char> chars = raw.Length <= 512 ? stackalloc char[raw.Length] : (rented = ArrayPool<char>.Shared.Rent(raw.Length));
        try
        {
            // The unescaped text is never longer, in UTF-16 units, than its JSON in bytes; an invalid one throws here.
            var text = chars[..reader.CopyString(chars)];
            if (text.Contains('\0'))
                throw new PayloadValidationException("the event holds a NUL character, which cannot be stored", line);
            if (TemplatesBySpan.TryGetValue(text, out var known))
                return known;
            var template = new string(text);
            var parsed = new ParsedTemplate(template, MessageTemplate.Tokenize(template), MessageTemplate.EventTypeOf(template));
            if (Templates.Count < MaximumCachedTemplates)
                Templates.TryAdd(template, parsed);
            return parsed;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    static DateTimeOffset Timestamp(ref Utf8JsonReader reader, string field, int line)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new PayloadValidationException($"the {field} field must be an ISO 8601 timestamp", line);
        DateTimeOffset parsed;
        // The reader's ISO 8601 parser is fast but would take a time without an offset as local time: it is used only
        // when the text ends in one, anything else goes to the general parser, which takes it as UTC.
        if (reader.ValueIsEscaped || !EndsWithOffset(reader.ValueSpan) || !reader.TryGetDateTimeOffset(out parsed))
        {
            if (!DateTimeOffset.TryParse(reader.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out parsed))
                throw new PayloadValidationException($"the {field} field must be an ISO 8601 timestamp", line);
        }
        // PostgreSQL keeps microseconds; the event is what will be read back.
        return new DateTimeOffset(parsed.UtcTicks - parsed.UtcTicks % 10, TimeSpan.Zero);
    }

    static bool EndsWithOffset(ReadOnlySpan<byte> text) =>
        text.Length > 6 && (text[^1] == (byte)'Z' || (text[^3] == (byte)':' && text[^6] is (byte)'+' or (byte)'-'));

    static uint EventType(ref Utf8JsonReader reader, int line)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetUInt32(out var number))
            return number;
        if (reader.TokenType == JsonTokenType.String)
        {
            var text = reader.GetString()!;
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
                text = text[2..];
            if (text.Length is > 0 and <= 8 && uint.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
                return hex;
        }
        else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            // Checked to the end first, so that a malformed value is reported as such.
            SkipChecked(ref reader, line);
        }
        throw new PayloadValidationException("the @i field must be a 32-bit event type, as a number or in hexadecimal", line);
    }

    static string Renderings(ref Utf8JsonReader reader, ReadOnlySpan<byte> text, int line)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            SkipChecked(ref reader, line);
            throw new PayloadValidationException("the @r field must be an array of strings", line);
        }
        var start = (int)reader.TokenStartIndex;
        var strings = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            strings &= reader.TokenType == JsonTokenType.String;
            SkipChecked(ref reader, line);
        }
        if (!strings)
            throw new PayloadValidationException("the @r field must be an array of strings", line);
        return Encoding.UTF8.GetString(text[start..((int)reader.TokenStartIndex + 1)]);
    }

    /// <summary>Checks the value at the reader, and everything inside it, leaving the reader on its last token.</summary>
    static void SkipChecked(ref Utf8JsonReader reader, int line)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            CheckToken(ref reader, line);
            return;
        }
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
            CheckToken(ref reader, line);
    }

    static void CheckToken(ref Utf8JsonReader reader, int line)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String or JsonTokenType.PropertyName:
                if (reader.ValueIsEscaped)
                    RequireStorable(reader.GetString()!, line);
                else
                    RequireValidUtf8(reader.ValueSpan);
                break;
            case JsonTokenType.Number:
                if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
                    throw new PayloadValidationException("the event holds a number out of range", line);
                break;
        }
    }

    /// <summary>The end, in the line, of the value the reader has just finished (its last token).</summary>
    static int ValueEnd(ref Utf8JsonReader reader, JsonTokenType kind) => kind switch
    {
        JsonTokenType.StartObject or JsonTokenType.StartArray => (int)reader.TokenStartIndex + 1,
        JsonTokenType.String => (int)reader.TokenStartIndex + reader.ValueSpan.Length + 2,
        _ => (int)reader.TokenStartIndex + reader.ValueSpan.Length,
    };

    static string CheckedString(ref Utf8JsonReader reader, int line)
    {
        // Unescaped JSON text holds no control characters, so only an escape can bring in a NUL.
        var text = reader.GetString()!;
        if (reader.ValueIsEscaped)
            RequireStorable(text, line);
        return text;
    }

    static void RequireValidUtf8(ReadOnlySpan<byte> text)
    {
        if (!Utf8.IsValid(text))
            throw new InvalidOperationException("invalid UTF-8");
    }

    static void RequireStorable(string text, int line)
    {
        if (text.Contains('\0'))
            throw new PayloadValidationException("the event holds a NUL character, which cannot be stored", line);
    }
}

/// <summary>
/// The <c>@t</c> timestamps ingestion stores (ADR 0041): each day of events is a partition (a table), so a client
/// must not be able to create one for any day it likes. Later than <see cref="Latest"/> (a day ahead of the server's
/// clock) or, when set, earlier than <see cref="Earliest"/> is refused, naming the line.
/// </summary>
public sealed record TimestampWindow(DateTimeOffset? Earliest, DateTimeOffset Latest, string EarliestReason)
{
    public const int DaysAhead = 1;

    /// <exception cref="PayloadValidationException">The timestamp is outside the window.</exception>
    public void Check(DateTimeOffset timestamp, int line)
    {
        if (timestamp > Latest)
            throw new PayloadValidationException($"the @t timestamp is more than {DaysAhead} day ahead of the server clock", line);
        if (timestamp < Earliest)
            throw new PayloadValidationException($"the @t timestamp is {EarliestReason}", line);
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Seq.Infrastructure.Auditing;

/// <summary>One line of an audit file, as read: an event, a continuation link, or neither (torn or not JSON).</summary>
public sealed class AuditLine
{
    public required string File { get; init; }

    /// <summary>1-based line number within its file.</summary>
    public required int LineNumber { get; init; }

    /// <summary>The line's own bytes (without its newline).</summary>
    public ReadOnlyMemory<byte> Bytes { get; set; }

    /// <summary>The bytes up to the <c>,"AuditChain":"</c> marker, over which the chain value is computed; -1 when absent.</summary>
    public int PrefixLength { get; set; } = -1;

    /// <summary>Set when the line is not JSON at all (a torn write, zeros left by a failed disk).</summary>
    public bool IsTorn { get; set; }

    /// <summary>What makes the line break the audit schema, or null.</summary>
    public string? SchemaProblem { get; set; }

    public string? Timestamp { get; set; }
    public string? MessageTemplate { get; set; }
    public string? Message { get; set; }
    public string? EventType { get; set; }
    public string? Exception { get; set; }
    public string? AuditSession { get; set; }
    public long? SequenceNumber { get; set; }
    public string? Principal { get; set; }
    public string? PrincipalId { get; set; }
    public string? PrincipalType { get; set; }
    public string? Category { get; set; }
    public string? Operation { get; set; }
    public string? OperationId { get; set; }
    public string? Event { get; set; }
    public string? HttpRequestMethod { get; set; }
    public string? HttpRequestPath { get; set; }
    public string? RemoteIPAddress { get; set; }
    public string? Chain { get; set; }

    // A continuation line (ADR 0009).
    public string? ContinuesFrom { get; set; }
    public long? ContinuesAfter { get; set; }
    public string? ContinuesFromChain { get; set; }

    // The first line of a session (ADR 0007).
    public string? PreviousAuditSession { get; set; }
    public long? PreviousSequenceNumber { get; set; }
    public string? PreviousAuditChain { get; set; }
    public bool? PreviousSessionEnded { get; set; }

    public bool IsContinuation => ContinuesFrom is not null;

    public bool IsEvent => !IsTorn && !IsContinuation && SequenceNumber is not null;

    /// <summary><c>@t</c>, when it is an ISO 8601 time.</summary>
    public DateTimeOffset? ParsedTime { get; set; }

    public DateTimeOffset? Time => ParsedTime;
}

/// <summary>
/// Reads audit lines in one pass over their UTF-8 bytes, checking them against the audit schema as it goes (required
/// properties and their types, event kinds, <c>@i</c> matching <c>@mt</c>).
/// </summary>
public static class AuditLineReader
{
    static readonly byte[] Marker = Encoding.UTF8.GetBytes($",\"{AuditLog.ChainProperty}\":\"");
    static readonly ConcurrentDictionary<string, string> EventTypes = new(StringComparer.Ordinal);
    static readonly HashSet<string> EventKinds = ["Begin", "Complete", "Abandon", "Fail", "Advise", "Record"];
    static readonly HashSet<string> PrincipalTypes = ["User", "ApiKey", "Public"];

    // Values that repeat from line to line (sessions, categories, principals, templates) are kept once: verifying a
    // large file allocates per line only what is unique to it, which keeps the collector out of the way.
    static readonly ConcurrentDictionary<string, string> Interned = new(StringComparer.Ordinal);
    static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> InternedBySpan = Interned.GetAlternateLookup<ReadOnlySpan<char>>();
    const int MaximumInterned = 50_000;
    const int MaximumInternedLength = 256;

    /// <summary>The lines of a file's bytes, split at newlines; a last line without its newline is still a line.</summary>
    public static IEnumerable<(int Start, int Length)> Lines(byte[] bytes)
    {
        var start = 0;
        while (start < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0)
                end = bytes.Length;
            yield return (start, end - start);
            start = end + 1;
        }
    }

    /// <param name="full">Also the properties only a timeline needs (<c>@m</c>, <c>@x</c>, the request's path); verification skips them.</param>
    public static AuditLine Read(string file, int lineNumber, ReadOnlySpan<byte> line, bool full = true)
    {
        var result = new AuditLine { File = file, LineNumber = lineNumber };
        try
        {
            Parse(line, result, full);
        }
        catch (JsonException)
        {
            result.IsTorn = true;
            return result;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            result.SchemaProblem ??= "a property has a value of the wrong type";
        }
        if (result.IsContinuation)
            return result;
        result.SchemaProblem ??= SchemaProblem(result, line);
        return result;
    }

    static void Parse(ReadOnlySpan<byte> line, AuditLine result, bool full)
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            result.IsTorn = true;
            return;
        }
        string? last = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            last = name;
            reader.Read();
            switch (name)
            {
                case "@t":
                    if (reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var time))
                    {
                        result.ParsedTime = time;
                        result.Timestamp = full ? reader.GetString() : "";
                    }
                    else
                        result.Timestamp = Text(ref reader, name, result);
                    break;
                case "@mt": result.MessageTemplate = Text(ref reader, name, result, intern: true); break;
                case "@m":
                    result.Message = full ? Text(ref reader, name, result) : reader.TokenType == JsonTokenType.String ? "" : Text(ref reader, name, result);
                    break;
                case "@i": result.EventType = Text(ref reader, name, result, intern: true); break;
                case "@x":
                    result.Exception = full ? Text(ref reader, name, result) : reader.TokenType == JsonTokenType.String ? "" : Text(ref reader, name, result);
                    break;
                case "AuditSession": result.AuditSession = Text(ref reader, name, result, intern: true); break;
                case "SequenceNumber":
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var sequence))
                        result.SequenceNumber = sequence;
                    else
                        result.SchemaProblem ??= "SequenceNumber is not a whole number";
                    break;
                case "Principal": result.Principal = Text(ref reader, name, result, intern: true); break;
                case "PrincipalId": result.PrincipalId = Text(ref reader, name, result, nullable: true); break;
                case "PrincipalType": result.PrincipalType = Text(ref reader, name, result, intern: true); break;
                case "OnBehalfOfUserId": Text(ref reader, name, result, nullable: true); break;
                case "Category": result.Category = Text(ref reader, name, result, intern: true); break;
                case "Operation": result.Operation = Text(ref reader, name, result, intern: true); break;
                case "OperationId": result.OperationId = Text(ref reader, name, result); break;
                case "Event": result.Event = Text(ref reader, name, result, intern: true); break;
                case "HttpRequestMethod": result.HttpRequestMethod = Text(ref reader, name, result, nullable: true, intern: true); break;
                case "HttpRequestPath":
                    result.HttpRequestPath = full ? Text(ref reader, name, result, nullable: true) : reader.TokenType is JsonTokenType.String or JsonTokenType.Null ? null : Text(ref reader, name, result, nullable: true);
                    break;
                case "RemoteIPAddress": result.RemoteIPAddress = Text(ref reader, name, result, nullable: true, intern: true); break;
                case "XForwardedFor":
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                            if (reader.TokenType != JsonTokenType.String)
                                result.SchemaProblem ??= "XForwardedFor holds something other than text";
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                        result.SchemaProblem ??= "XForwardedFor is neither a list nor null";
                    break;
                case AuditLog.ChainProperty: result.Chain = Text(ref reader, name, result); break;
                case AuditChainVerifier.ContinuesFromProperty: result.ContinuesFrom = Text(ref reader, name, result) ?? ""; break;
                case AuditChainVerifier.ContinuesAfterProperty:
                    result.ContinuesAfter = reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : null; break;
                case AuditChainVerifier.ContinuesFromChainProperty: result.ContinuesFromChain = Text(ref reader, name, result, nullable: true); break;
                case "PreviousAuditSession": result.PreviousAuditSession = Text(ref reader, name, result, nullable: true); break;
                case "PreviousSequenceNumber": result.PreviousSequenceNumber = reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : null; break;
                case "PreviousAuditChain": result.PreviousAuditChain = Text(ref reader, name, result, nullable: true); break;
                case "PreviousSessionEnded": result.PreviousSessionEnded = reader.TokenType is JsonTokenType.True or JsonTokenType.False ? reader.GetBoolean() : null; break;
                default: reader.Skip(); break;
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject)
            throw new JsonException("The line does not end its object.");
        if (reader.BytesConsumed != line.Length && line[(int)reader.BytesConsumed..].Trim(" \t\r"u8).Length > 0)
            throw new JsonException("The line holds more than one object.");

        if (last == AuditLog.ChainProperty)
        {
            var at = line.LastIndexOf(Marker);
            if (at >= 0)
                result.PrefixLength = at;
        }
    }

    static string? Text(ref Utf8JsonReader reader, string name, AuditLine result, bool nullable = false, bool intern = false)
    {
        if (reader.TokenType == JsonTokenType.String)
            return intern ? InternedText(ref reader) : reader.GetString();
        if (reader.TokenType == JsonTokenType.Null && nullable)
            return null;
        result.SchemaProblem ??= $"{name} is not {(nullable ? "text or null" : "text")}";
        reader.Skip();
        return null;
    }

    // The property names the reader acts on, grouped by their length in UTF-8: a name is found by comparing bytes, without
    // decoding it to text first (most lines hold twenty of them).
    static readonly string[] KnownNames =
    [
        "@t", "@mt", "@m", "@i", "@x", "AuditSession", "SequenceNumber", "Principal", "PrincipalId", "PrincipalType", "OnBehalfOfUserId",
        "Category", "Operation", "OperationId", "Event", "HttpRequestMethod", "HttpRequestPath", "RemoteIPAddress", "XForwardedFor",
        AuditLog.ChainProperty, AuditChainVerifier.ContinuesFromProperty, AuditChainVerifier.ContinuesAfterProperty,
        AuditChainVerifier.ContinuesFromChainProperty, "PreviousAuditSession", "PreviousSequenceNumber", "PreviousAuditChain", "PreviousSessionEnded",
    ];
    static readonly (byte[] Utf8, string Name)[][] KnownByLength = BuildKnownByLength();

    static (byte[] Utf8, string Name)[][] BuildKnownByLength()
    {
        var encoded = KnownNames.Select(n => (Utf8: Encoding.UTF8.GetBytes(n), Name: n)).ToList();
        var byLength = new (byte[] Utf8, string Name)[encoded.Max(e => e.Utf8.Length) + 1][];
        for (var length = 0; length < byLength.Length; length++)
            byLength[length] = [.. encoded.Where(e => e.Utf8.Length == length)];
        return byLength;
    }

    /// <summary>The current property name: one of <see cref="KnownNames"/>, another name's text when escaped, or "" for any other.</summary>
    static string PropertyName(ref Utf8JsonReader reader)
    {
        if (reader.HasValueSequence || reader.ValueIsEscaped)
            return reader.GetString()!;
        var span = reader.ValueSpan;
        if (span.Length < KnownByLength.Length)
            foreach (var (utf8, name) in KnownByLength[span.Length])
                if (span.SequenceEqual(utf8))
                    return name;
        return "";
    }

    /// <summary>The current string token (or property name), from the interned copies when it is short and unescaped.</summary>
    static string InternedText(ref Utf8JsonReader reader)
    {
        var span = reader.HasValueSequence ? default : reader.ValueSpan;
        if (reader.HasValueSequence || reader.ValueIsEscaped || span.Length > MaximumInternedLength)
            return reader.GetString()!;
        Span<char> chars = stackalloc char[MaximumInternedLength * 2];
        var count = Encoding.UTF8.GetChars(span, chars);
        if (InternedBySpan.TryGetValue(chars[..count], out var known))
            return known;
        var text = new string(chars[..count]);
        if (Interned.Count < MaximumInterned)
            Interned.TryAdd(text, text);
        return text;
    }

    static string? SchemaProblem(AuditLine line, ReadOnlySpan<byte> bytes)
    {
        if (line.Timestamp is null) return "@t is missing";
        if (line.ParsedTime is null) return "@t is not a time";
        if (line.MessageTemplate is null) return "@mt is missing";
        if (line.Message is null) return "@m is missing";
        if (line.EventType is null) return "@i is missing";
        if (line.AuditSession is null) return "AuditSession is missing";
        if (line.SequenceNumber is not { } sequence) return "SequenceNumber is missing";
        if (sequence < 1) return "SequenceNumber is less than 1";
        if (line.Principal is null) return "Principal is missing";
        if (line.PrincipalType is null || !PrincipalTypes.Contains(line.PrincipalType)) return $"PrincipalType is not User, ApiKey or Public";
        if (line.Category is null) return "Category is missing";
        if (line.Operation is null) return "Operation is missing";
        if (line.OperationId is null || !Guid.TryParse(line.OperationId, out _)) return "OperationId is not a GUID";
        if (line.Event is null || !EventKinds.Contains(line.Event)) return $"Event is not one of {string.Join(", ", EventKinds)}";
        if (line.Chain is null || line.PrefixLength < 0 || line.Chain.Length != 64) return "AuditChain is missing, malformed or not the last property";
        var expected = EventTypes.GetOrAdd(line.MessageTemplate, AuditLog.EventTypeOf);
        if (!string.Equals(expected, line.EventType, StringComparison.Ordinal)) return $"@i is {line.EventType}, but @mt's event type is {expected}";
        return null;
    }
}

using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
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
    /// <summary>The <c>OperationId</c>; a GUID in the server's form is kept as 16 bytes and becomes text only when asked for.</summary>
    public string? OperationId
    {
        get => _operationId ??= _hasOperationGuid ? _operationGuid.ToString("D") : null;
        set
        {
            _operationId = value;
            _hasOperationGuid = false;
        }
    }

    string? _operationId;
    Guid _operationGuid;
    bool _hasOperationGuid;

    public bool HasOperationId => _hasOperationGuid || _operationId is not null;

    /// <summary>The <c>OperationId</c> as a GUID, when it was written as the server writes one (36 lowercase characters).</summary>
    public bool TryGetOperationGuid(out Guid id)
    {
        id = _operationGuid;
        return _hasOperationGuid;
    }

    internal void SetOperationGuid(Guid id)
    {
        _operationId = null;
        _operationGuid = id;
        _hasOperationGuid = true;
    }
    public string? Event { get; set; }
    public string? HttpRequestMethod { get; set; }
    public string? HttpRequestPath { get; set; }
    public string? RemoteIPAddress { get; set; }
    /// <summary><c>AuditChain</c>; 64 lowercase hex digits are kept as their 32 bytes and become text only when asked for.</summary>
    public string? Chain
    {
        get => _chain ??= _hasChainValue ? Convert.ToHexStringLower(_chainValue) : null;
        set
        {
            _chain = value;
            _hasChainValue = false;
        }
    }

    string? _chain;
    ChainBytes _chainValue;
    bool _hasChainValue;

    /// <summary>Whether <c>AuditChain</c> is text of 64 characters (hex digits or not).</summary>
    public bool HasChain64 => _hasChainValue || _chain is { Length: 64 };

    /// <summary>Writes the chain value's 32 bytes; false when <c>AuditChain</c> is not 64 hex digits.</summary>
    public bool TryGetChain(Span<byte> destination)
    {
        if (_hasChainValue)
        {
            ((ReadOnlySpan<byte>)_chainValue).CopyTo(destination);
            return true;
        }
        return _chain is not null && Convert.FromHexString(_chain, destination, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32;
    }

    /// <summary>Reads 64 lowercase hex digits into the chain value; false (and nothing kept) for anything else.</summary>
    internal bool TrySetChain(ReadOnlySpan<byte> hex)
    {
        if (hex.Length != 64)
            return false;
        Span<byte> value = _chainValue;
        for (var i = 0; i < 32; i++)
        {
            var high = Nibble(hex[2 * i]);
            var low = Nibble(hex[2 * i + 1]);
            if ((high | low) < 0)
                return false;
            value[i] = (byte)(high << 4 | low);
        }
        _chain = null;
        _hasChainValue = true;
        return true;

        static int Nibble(byte c) => (uint)(c - '0') <= 9 ? c - '0' : (uint)(c - 'a') <= 5 ? c - 'a' + 10 : -1;
    }

    [InlineArray(32)]
    struct ChainBytes
    {
#pragma warning disable IDE0051, IDE0044, CS0169 // the inline array's element
        byte _element;
#pragma warning restore IDE0051, IDE0044, CS0169
    }

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
                case "@mt": result.MessageTemplate = Text(ref reader, name, result, intern: true, slot: 0); break;
                case "@m":
                    result.Message = full ? Text(ref reader, name, result) : reader.TokenType == JsonTokenType.String ? "" : Text(ref reader, name, result);
                    break;
                case "@i": result.EventType = Text(ref reader, name, result, intern: true, slot: 1); break;
                case "@x":
                    result.Exception = full ? Text(ref reader, name, result) : reader.TokenType == JsonTokenType.String ? "" : Text(ref reader, name, result);
                    break;
                case "AuditSession": result.AuditSession = Text(ref reader, name, result, intern: true, slot: 2); break;
                case "SequenceNumber":
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var sequence))
                        result.SequenceNumber = sequence;
                    else
                        result.SchemaProblem ??= "SequenceNumber is not a whole number";
                    break;
                case "Principal": result.Principal = Text(ref reader, name, result, intern: true, slot: 3); break;
                case "PrincipalId": result.PrincipalId = Text(ref reader, name, result, nullable: true, slot: 4); break;
                case "PrincipalType": result.PrincipalType = Text(ref reader, name, result, intern: true, slot: 5); break;
                case "OnBehalfOfUserId": Text(ref reader, name, result, nullable: true); break;
                case "Category": result.Category = Text(ref reader, name, result, intern: true, slot: 6); break;
                case "Operation": result.Operation = Text(ref reader, name, result, intern: true, slot: 7); break;
                case "OperationId":
                    if (reader.TokenType != JsonTokenType.String || reader.HasValueSequence || reader.ValueIsEscaped || !TryCanonicalGuid(reader.ValueSpan, out var operationId))
                        result.OperationId = Text(ref reader, name, result);
                    else
                        result.SetOperationGuid(operationId);
                    break;
                case "Event": result.Event = Text(ref reader, name, result, intern: true, slot: 8); break;
                case "HttpRequestMethod": result.HttpRequestMethod = Text(ref reader, name, result, nullable: true, intern: true, slot: 9); break;
                case "HttpRequestPath":
                    result.HttpRequestPath = full ? Text(ref reader, name, result, nullable: true) : reader.TokenType is JsonTokenType.String or JsonTokenType.Null ? null : Text(ref reader, name, result, nullable: true);
                    break;
                case "RemoteIPAddress": result.RemoteIPAddress = Text(ref reader, name, result, nullable: true, intern: true, slot: 10); break;
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
                case AuditLog.ChainProperty:
                    if (reader.TokenType != JsonTokenType.String || reader.HasValueSequence || reader.ValueIsEscaped || !result.TrySetChain(reader.ValueSpan))
                        result.Chain = Text(ref reader, name, result);
                    break;
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

    static string? Text(ref Utf8JsonReader reader, string name, AuditLine result, bool nullable = false, bool intern = false, int slot = -1)
    {
        if (reader.TokenType == JsonTokenType.String)
            return slot >= 0 ? RepeatedText(ref reader, slot, intern) : intern ? InternedText(ref reader) : reader.GetString();
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

    /// <summary>The last value read for each property that tends to repeat from one line to the next, per thread.</summary>
    sealed class LastValues
    {
        public const int Slots = 11;
        public readonly byte[][] Bytes = [.. Enumerable.Range(0, Slots).Select(_ => new byte[MaximumInternedLength])];
        public readonly int[] Lengths = new int[Slots];
        public readonly string?[] Texts = new string?[Slots];
        public string? Template;
        public string? TemplateEventType;
    }

    [ThreadStatic]
    static LastValues? t_last;

    /// <summary>
    /// The current string token, as the same text when its bytes equal the last value of its property (slot): most
    /// lines repeat the session, principal, category and template of the line before, and comparing bytes costs less
    /// than decoding and looking them up.
    /// </summary>
    static string RepeatedText(ref Utf8JsonReader reader, int slot, bool intern)
    {
        if (reader.HasValueSequence || reader.ValueIsEscaped || reader.ValueSpan.Length > MaximumInternedLength)
            return intern ? InternedText(ref reader) : reader.GetString()!;
        var last = t_last ??= new LastValues();
        var span = reader.ValueSpan;
        if (last.Texts[slot] is { } known && span.SequenceEqual(last.Bytes[slot].AsSpan(0, last.Lengths[slot])))
            return known;
        var text = intern ? InternedText(ref reader) : reader.GetString()!;
        span.CopyTo(last.Bytes[slot]);
        last.Lengths[slot] = span.Length;
        last.Texts[slot] = text;
        return text;
    }

    /// <summary>A GUID written as the server writes one: 36 characters, lowercase hex digits and dashes, so its text is <c>Guid.ToString("D")</c>.</summary>
    static bool TryCanonicalGuid(ReadOnlySpan<byte> utf8, out Guid id)
    {
        id = default;
        return utf8.Length == 36 && !utf8.ContainsAnyExcept(CanonicalGuidBytes)
               && Utf8Parser.TryParse(utf8, out id, out var consumed, 'D') && consumed == 36;
    }

    static readonly System.Buffers.SearchValues<byte> CanonicalGuidBytes = System.Buffers.SearchValues.Create("0123456789abcdef-"u8);

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
        if (!line.TryGetOperationGuid(out _) && (line.OperationId is null || !Guid.TryParse(line.OperationId, out _))) return "OperationId is not a GUID";
        if (line.Event is null || !EventKinds.Contains(line.Event)) return $"Event is not one of {string.Join(", ", EventKinds)}";
        if (!line.HasChain64 || line.PrefixLength < 0) return "AuditChain is missing, malformed or not the last property";
        var last = t_last ??= new LastValues();
        if (!ReferenceEquals(last.Template, line.MessageTemplate))
        {
            last.TemplateEventType = EventTypes.GetOrAdd(line.MessageTemplate, AuditLog.EventTypeOf);
            last.Template = line.MessageTemplate;
        }
        var expected = last.TemplateEventType!;
        if (!string.Equals(expected, line.EventType, StringComparison.Ordinal)) return $"@i is {line.EventType}, but @mt's event type is {expected}";
        return null;
    }
}

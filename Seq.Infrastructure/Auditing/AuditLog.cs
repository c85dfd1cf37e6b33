using System.Buffers;
using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Seq.Application.Auditing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Auditing;

/// <summary>A run of the server, as the audit log names it: 20 cryptographically random alphanumerics.</summary>
public sealed record AuditSession(string Id)
{
    const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static AuditSession Start() => new(RandomNumberGenerator.GetString(Alphabet, 20));

    public override string ToString() => Id;
}

/// <summary>
/// How much the audit log may hold in memory while its target cannot keep up (ADR 0009). When either bound is
/// reached, opening events are refused before they take a sequence number, advisory events are counted instead of
/// queued, and closing events of operations already begun are still accepted.
/// </summary>
public sealed record AuditLogLimits(int MaximumQueuedLines, long MaximumQueuedBytes)
{
    public const int DefaultMaximumQueuedLines = 10_000;

    public static AuditLogLimits Default { get; } = new(DefaultMaximumQueuedLines, 64L * 1024 * 1024);
}

/// <summary>
/// The audit log of one run: stamps each event with the session, the next sequence number and the HMAC chain
/// value, all under one lock together with handing the line to the target, so that sequence numbers, chain order
/// and the target's write order are the same order. Without a target it is disabled and records nothing.
/// </summary>
public sealed partial class AuditLog : IAsyncDisposable
{
    public const string ChainProperty = "AuditChain";
    const string ChainOrigin = "seq-audit-chain/v1/";

    static readonly ConcurrentDictionary<string, string> TemplateIds = new(StringComparer.Ordinal);

    readonly IAuditTarget? _target;
    readonly TimeProvider _clock;
    readonly byte[] _chainKey;
    readonly AuditLogLimits _limits;
    readonly Lock _sync = new();
    byte[] _chain;
    long _sequence;
    // The chain value of each line not yet known durable, so that the durable head can be named with its chain.
    readonly Queue<(long Sequence, byte[] Chain)> _notYetDurable = new();
    (long Sequence, byte[]? Chain) _durableHead = (0, null);
    bool _ended;
    long _endSequence;
    long _notRecorded;
    string? _notRecordedReason;

    public AuditLog(IAuditTarget? target, AuditSession session, SecretKey secretKey, TimeProvider clock, AuditLogLimits? limits = null)
    {
        _target = target;
        Session = session;
        _clock = clock;
        _limits = limits ?? AuditLogLimits.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(_limits.MaximumQueuedLines, 1, nameof(limits));
        ArgumentOutOfRangeException.ThrowIfLessThan(_limits.MaximumQueuedBytes, 1, nameof(limits));
        _chainKey = secretKey.DeriveSubkey(SecretPurposes.AuditIntegrity);
        _chain = ChainStart(_chainKey, session.Id);
    }

    public AuditSession Session { get; }

    public bool IsEnabled => _target is not null;

    /// <summary>"file /var/audit", "server https://…", or null when auditing is disabled.</summary>
    public string? TargetDescription => _target?.Description;

    /// <summary>Unavailable while the target fails or stalls, its queue is full or its disk nearly so; null when disabled.</summary>
    public AuditTargetState? TargetState => _target is null ? null : Problem is null ? AuditTargetState.Available : AuditTargetState.Unavailable;

    /// <summary>Why audited operations are refused now, in words safe for anyone to read, or null.</summary>
    public string? Problem => _target is null ? null : _target.Problem ?? _target.Refusal ?? QueueFull();

    /// <summary>Lines held in memory and not yet durable, against the bound.</summary>
    public (long Lines, long Bytes, AuditLogLimits Limits)? Queue => _target is null ? null : (_target.QueuedLines, _target.QueuedBytes, _limits);

    /// <summary>The free bytes on the audit disk (null when unknown) and the reserve kept; null for other targets.</summary>
    public (long? Free, long Minimum)? FreeSpace => _target is FileAuditTarget file ? (file.FreeBytes(), file.MinimumFreeBytes) : null;

    /// <summary>Advisory events not recorded since the last summary line (ADR 0009).</summary>
    public long AdvisoriesNotRecorded => Interlocked.Read(ref _notRecorded);

    string? QueueFull() =>
        _target!.QueuedLines >= _limits.MaximumQueuedLines || _target.QueuedBytes >= _limits.MaximumQueuedBytes
            ? $"The audit queue is full ({_target.QueuedLines} lines not yet durable); audited operations are refused until the audit target catches up."
            : null;

    /// <summary>The first chain value of a session: lines are verified from here with the same key.</summary>
    public static byte[] ChainStart(byte[] chainKey, string session) =>
        HMACSHA256.HashData(chainKey, Encoding.UTF8.GetBytes(ChainOrigin + session));

    public async Task WriteAsync(AuditEntry entry, Principal principal, HttpRequestInfo? http, CancellationToken cancellationToken)
    {
        if (_target is null)
            return;

        Task durable;
        lock (_sync)
        {
            // The End line is the session's last: nothing may follow it, or the anchor would not name the end.
            if (_ended)
            {
                if (entry.IsBlocking)
                    throw new AuditUnavailableException(new AuditTargetException("The audit session has ended; the server is shutting down.") { TargetClosed = true }) { OpeningRecorded = false };
                return;
            }
            // Refused or counted before a sequence number is taken, so that no gap appears. Closing events are
            // always accepted: there is at most one per operation in flight, and each follows a Begin that was.
            var refusable = entry.IsBlocking || entry.Event == AuditEventKind.Advise;
            var refusal = refusable || _notRecorded > 0 ? _target.Refusal ?? QueueFull() : null;
            if (refusable && refusal is not null)
            {
                if (entry.IsBlocking)
                    throw new AuditUnavailableException(new AuditTargetException(refusal)) { OpeningRecorded = false };
                _notRecordedReason ??= refusal;
                Interlocked.Increment(ref _notRecorded);
                return;
            }
            try
            {
                if (_notRecorded > 0 && refusal is null)
                    Append(NotRecordedSummary(), Principal.Anonymous, null);
                durable = Append(entry, principal, http);
            }
            catch (AuditTargetException e) when (e.TargetClosed)
            {
                // Shutting down: the line took no number. An opening event refuses its operation; a later event of
                // one already running has nowhere left to go (the target logs what it could not write).
                if (entry.IsBlocking)
                    throw new AuditUnavailableException(e) { OpeningRecorded = false };
                return;
            }
        }

        if (!entry.IsBlocking)
            return;
        try
        {
            await durable.WaitAsync(cancellationToken);
        }
        catch (AuditTargetException e)
        {
            throw new AuditUnavailableException(e);
        }
    }

    /// <summary>Formats, chains and queues one line; the sequence number and chain move on only once the target has taken it.</summary>
    Task Append(AuditEntry entry, Principal principal, HttpRequestInfo? http)
    {
        var sequence = _sequence + 1;
        var prefix = Format(entry, sequence, principal, http);
        var chain = NextChain(_chainKey, _chain, prefix);
        var durable = _target!.Enqueue(Seal(prefix, chain), entry.IsBlocking);
        _sequence = sequence;
        _chain = chain;
        _notYetDurable.Enqueue((sequence, chain));
        MoveDurableHead();
        return durable;
    }

    // Every line the target takes is one sequence number, in order, so its count of durable lines is a sequence number.
    void MoveDurableHead()
    {
        var durable = _target!.DurableLines;
        while (_notYetDurable.TryPeek(out var line) && line.Sequence <= durable)
            _durableHead = _notYetDurable.Dequeue();
    }

    /// <summary>
    /// The newest line known durable in the target: its sequence number and chain value (0 and null before any),
    /// as the session's anchor records it (ADR 0007).
    /// </summary>
    public (long Sequence, string? Chain) DurableHead
    {
        get
        {
            if (_target is null)
                return (0, null);
            lock (_sync)
            {
                MoveDurableHead();
                return (_durableHead.Sequence, _durableHead.Chain is { } chain ? Convert.ToHexStringLower(chain) : null);
            }
        }
    }

    /// <summary>
    /// Writes the session's first line, a blocking <c>Audit/SessionStart</c> Record naming the session before it and
    /// that session's newest known line, so that a deleted session breaks the links between sessions.
    /// </summary>
    public Task StartSessionAsync(string? previousSession, long previousSequence, string? previousChain, bool previousEnded, CancellationToken cancellationToken)
    {
        var start = AuditCatalogue.SessionStarted;
        return WriteAsync(new AuditEntry(start.Category, start.Operation, AuditEventKind.Record, Guid.NewGuid(), SessionStartTemplate,
            [
                new("PreviousAuditSession", previousSession),
                new("PreviousSequenceNumber", previousSequence),
                new("PreviousAuditChain", previousChain),
                new("PreviousSessionEnded", previousEnded),
            ]), Principal.Anonymous, null, cancellationToken);
    }

    /// <summary>Whether the End line has been written and is durable.</summary>
    public bool EndIsDurable => _target is not null && Volatile.Read(ref _endSequence) is var end and > 0 && _target.DurableLines >= end;

    public const string SessionStartTemplate = "Audit session {AuditSession} began after session {PreviousAuditSession}, which reached sequence number {PreviousSequenceNumber}";
    public const string SessionEndTemplate = "Audit session {AuditSession} ended cleanly";

    /// <summary>
    /// Writes the session's last line, a blocking <c>Audit/SessionEnd</c> Record, and refuses every line after it:
    /// a session whose files lack it did not stop cleanly, or lost its end. Completes once the line is durable.
    /// </summary>
    /// <exception cref="AuditTargetException">The line could not be made durable.</exception>
    public async Task EndAsync(CancellationToken cancellationToken)
    {
        if (_target is null)
            return;
        Task durable;
        lock (_sync)
        {
            if (_ended)
                return;
            _ended = true;
            try
            {
                if (_notRecorded > 0)
                    Append(NotRecordedSummary(), Principal.Anonymous, null);
                var end = AuditCatalogue.SessionEnded;
                durable = Append(new AuditEntry(end.Category, end.Operation, AuditEventKind.Record, Guid.NewGuid(), SessionEndTemplate, []),
                    Principal.Anonymous, null);
                _endSequence = _sequence;
            }
            catch (AuditTargetException e) when (e.TargetClosed)
            {
                return;
            }
        }
        await durable.WaitAsync(cancellationToken);
    }

    AuditEntry NotRecordedSummary()
    {
        var count = Interlocked.Exchange(ref _notRecorded, 0);
        var reason = _notRecordedReason;
        _notRecordedReason = null;
        var summary = AuditCatalogue.AdvisoriesNotRecorded;
        return new AuditEntry(summary.Category, summary.Operation, AuditEventKind.Advise, Guid.NewGuid(),
            "{NotRecordedCount} advisory events were not recorded because the audit queue was full or the audit disk nearly so: {Reason}",
            [new("NotRecordedCount", count), new("Reason", reason)]);
    }

    public static byte[] NextChain(byte[] chainKey, byte[] previous, ReadOnlySpan<byte> linePrefix)
    {
        var input = new byte[previous.Length + linePrefix.Length];
        previous.CopyTo(input, 0);
        linePrefix.CopyTo(input.AsSpan(previous.Length));
        return HMACSHA256.HashData(chainKey, input);
    }

    /// <summary>Completes a line: the chain value is always the last property, so a verifier finds its prefix exactly.</summary>
    static byte[] Seal(byte[] prefix, byte[] chain)
    {
        var suffix = Encoding.UTF8.GetBytes($",\"{ChainProperty}\":\"{Convert.ToHexStringLower(chain)}\"}}");
        return [.. prefix, .. suffix];
    }

    /// <summary>The event as CLEF, without its closing brace (the chain value completes it).</summary>
    byte[] Format(AuditEntry entry, long sequence, Principal principal, HttpRequestInfo? http)
    {
        var standard = new List<KeyValuePair<string, object?>>
        {
            new("AuditSession", Session.Id),
            new("SequenceNumber", sequence),
            new("Principal", principal.Name),
            new("PrincipalId", principal.Id),
            new("PrincipalType", principal.Type.ToString()),
            new("OnBehalfOfUserId", principal.OnBehalfOfUserId),
            new("Category", entry.Category),
            new("Operation", entry.Operation),
            new("OperationId", entry.OperationId.ToString()),
            new("Event", entry.Event.ToString()),
        };
        if (http is not null)
        {
            standard.Add(new("HttpRequestMethod", http.Method));
            standard.Add(new("HttpRequestPath", http.Path));
            standard.Add(new("RemoteIPAddress", http.RemoteIPAddress));
            standard.Add(new("XForwardedFor", http.XForwardedFor));
        }
        var properties = standard.Concat(entry.Properties.Where(p => standard.All(s => s.Key != p.Key))).ToList();

        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("@t", _clock.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("@mt", entry.MessageTemplate);
            json.WriteString("@m", Render(entry.MessageTemplate, properties));
            json.WriteString("@i", TemplateIds.GetOrAdd(entry.MessageTemplate, EventTypeOf));
            if (entry.Exception is not null)
                json.WriteString("@x", entry.Exception);
            foreach (var (name, value) in properties)
            {
                json.WritePropertyName(name);
                WriteValue(json, value);
            }
            json.WriteEndObject();
        }
        var written = buffer.WrittenSpan;
        return written[..^1].ToArray();
    }

    /// <summary>A stable 32-bit id of a message template: the first four bytes of its SHA-256, in hex.</summary>
    public static string EventTypeOf(string template) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(template)).AsSpan(0, 4));

    static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case string s: json.WriteStringValue(s); break;
            case bool b: json.WriteBooleanValue(b); break;
            case int i: json.WriteNumberValue(i); break;
            case long l: json.WriteNumberValue(l); break;
            case Enum e: json.WriteStringValue(e.ToString()); break;
            case IEnumerable items:
                json.WriteStartArray();
                foreach (var item in items)
                    WriteValue(json, item);
                json.WriteEndArray();
                break;
            default: json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }

    [GeneratedRegex(@"\{(@|\$)?([A-Za-z0-9_]+)(:[^}]*)?\}")]
    private static partial Regex Hole();

    /// <summary>Renders a template as Serilog does for scalar values: strings quoted, null as null, lists in brackets.</summary>
    static string Render(string template, IReadOnlyList<KeyValuePair<string, object?>> properties) =>
        Hole().Replace(template, match =>
        {
            var name = match.Groups[2].Value;
            foreach (var (key, value) in properties)
                if (key == name)
                    return RenderValue(value);
            return match.Value;
        });

    static string RenderValue(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        bool b => b ? "True" : "False",
        Enum e => e.ToString(),
        IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(RenderValue)) + "]",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null",
    };

    public async ValueTask DisposeAsync()
    {
        if (_target is null)
            return;
        // The count of advisory events not recorded is itself evidence; it is not left to the next run.
        lock (_sync)
        {
            if (_notRecorded > 0 && !_ended)
                Append(NotRecordedSummary(), Principal.Anonymous, null);
            _ended = true;
        }
        await _target.DisposeAsync();
    }
}

/// <summary>The audit log as an operation sees it: entries are stamped with this operation's principal and request.</summary>
public sealed class OperationAuditLog(AuditLog log, OperationContext operation) : IAuditLog
{
    public bool IsEnabled => log.IsEnabled;

    public Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        log.WriteAsync(entry, operation.Principal, operation.Http, cancellationToken);
}

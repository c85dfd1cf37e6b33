using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Seq.Application.Filtering;
using Seq.Application.ApiKeys;
using Seq.Application.Security;
using Seq.Application.Settings;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;
using Seq.Domain.Settings;

namespace Seq.Application.Events;

/// <summary>What ingestion answers: the lowest level the caller's key accepts (Serilog's name), or null for any.</summary>
public sealed record IngestionResult(string? MinimumLevelAccepted, int Stored);

/// <summary>
/// CLEF ingestion. It is not a MediatR request on purpose: log events are data, not an operation a user performs,
/// so they are never audited one by one and no audit outage can stop them (the auditing spec: "Ingestion will not be
/// affected"). The caller's permission is checked here because whether one is needed is itself a setting.
/// </summary>
public sealed class EventIngestion(IngestionConfiguration configuration, ILogEventWriter writer, TimeProvider clock)
{
    readonly ConcurrentDictionary<string, FilterExpression> _inputFilters = new(StringComparer.Ordinal);

    /// <param name="RetentionDays">Setting EventRetentionDays: events older than its window are not stored (0 keeps all).</param>
    public sealed record Limits(long MaximumPayloadBytes, long MaximumEventBytes, int RetentionDays = 0);

    /// <summary>When no retention is set, the oldest <c>@t</c> accepted (ADR 0041): history may be imported, but not from any day at all.</summary>
    public static readonly DateTimeOffset EarliestWhenKeptForever = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The limits in force now, and whether <paramref name="principal"/> may ingest at all.</summary>
    /// <exception cref="AuthenticationRequiredException">An API key is required and none was sent.</exception>
    /// <exception cref="AccessDeniedException">The caller lacks the Ingest permission that is required.</exception>
    public async Task<Limits> AdmitAsync(Principal principal, CancellationToken cancellationToken)
    {
        var changed = await configuration.GetChangedSettingsAsync(cancellationToken);
        if (bool.Parse(Value(changed, SettingCatalogue.RequireApiKeyForWritingEvents)) && !principal.Has(Permission.Ingest))
        {
            if (!principal.IsAuthenticated)
                throw new AuthenticationRequiredException("Writing events requires an API key with the Ingest permission: send it in the X-Seq-ApiKey header.");
            throw new AccessDeniedException("Writing events needs the Ingest permission, which the caller does not hold.");
        }
        return new Limits(long.Parse(Value(changed, SettingCatalogue.RawPayloadMaximumContentLength)),
            long.Parse(Value(changed, SettingCatalogue.RawEventMaximumContentLength)),
            int.Parse(Value(changed, SettingCatalogue.EventRetentionDays), System.Globalization.CultureInfo.InvariantCulture));
    }

    static string Value(IReadOnlyDictionary<string, string> changed, SettingDefinition setting) =>
        changed.GetValueOrDefault(setting.Name) ?? setting.DefaultValue;

    /// <summary>A request body read into a pooled buffer, returned to the pool on disposal.</summary>
    public sealed class Payload : IDisposable
    {
        byte[] _buffer;

        internal Payload(byte[] buffer) => _buffer = buffer;

        public int Length { get; internal set; }

        public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

        internal byte[] Buffer => _buffer;

        internal void Grow(long maximumBytes)
        {
            var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(_buffer.Length * 2L, 64 * 1024), maximumBytes + 1));
            _buffer.AsSpan(0, Length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        public void Dispose()
        {
            var buffer = Interlocked.Exchange(ref _buffer, []);
            if (buffer.Length > 0)
                ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads the whole body into a pooled buffer (a batch is often larger than the large object heap's threshold, and
    /// one is read per request), refusing it as soon as it passes <paramref name="maximumBytes"/>.
    /// </summary>
    /// <exception cref="PayloadTooLargeException"/>
    public static async Task<Payload> ReadPayloadAsync(Stream body, long? contentLength, long maximumBytes, CancellationToken cancellationToken)
    {
        if (contentLength > maximumBytes)
            throw new PayloadTooLargeException(maximumBytes);
        // One byte more than announced, so that the read that finds the end needs no larger buffer.
        var payload = new Payload(ArrayPool<byte>.Shared.Rent(contentLength is > 0 and < 16 * 1024 * 1024 ? (int)contentLength.Value + 1 : 64 * 1024));
        try
        {
            while (true)
            {
                if (payload.Length == payload.Buffer.Length)
                    payload.Grow(maximumBytes);
                var read = await body.ReadAsync(payload.Buffer.AsMemory(payload.Length), cancellationToken);
                if (read == 0)
                    return payload;
                payload.Length += read;
                if (payload.Length > maximumBytes)
                    throw new PayloadTooLargeException(maximumBytes);
            }
        }
        catch
        {
            payload.Dispose();
            throw;
        }
    }

    /// <exception cref="PayloadValidationException">A line is not a CLEF event; nothing was stored.</exception>
    public async Task<IngestionResult> IngestAsync(Principal principal, ReadOnlyMemory<byte> payload, Limits limits, CancellationToken cancellationToken)
    {
        var input = principal.Type == PrincipalType.ApiKey
            ? await configuration.GetInputSettingsAsync(principal.Id, cancellationToken)
            : InputSettings.None;
        var applied = input.AppliedProperties.Select(p => new KeyValuePair<string, string?>(p.Name, p.Value)).ToList();

        // Every day of events is a table: a client's clock decides only within bounds which days those are (ADR 0041).
        var now = clock.GetUtcNow();
        var window = input.UseServerTimestamps ? null : new TimestampWindow(
            limits.RetentionDays > 0 ? null : EarliestWhenKeptForever, now.AddDays(TimestampWindow.DaysAhead),
            "before 2000-01-01, the earliest stored while setting EventRetentionDays keeps events forever");
        // Events from before the retention window are taken but not stored: retention would drop them, with their day.
        DateTimeOffset? oldestKept = limits.RetentionDays > 0 && !input.UseServerTimestamps
            ? new DateTimeOffset(DateOnly.FromDateTime(now.UtcDateTime).AddDays(-limits.RetentionDays), TimeOnly.MinValue, TimeSpan.Zero)
            : null;

        var events = ClefParser.Parse(payload, limits.MaximumEventBytes, applied, window);
        var minimum = input.MinimumLevel is null ? 0 : Levels.Rank(input.MinimumLevel);
        var inputFilter = input.Filter is { } f ? InputFilter(f.Filter) : null;
        var kept = new List<LogEvent>(events.Count);
        foreach (var e in events)
        {
            if (minimum > 0 && Levels.Rank(e.Level) < minimum)
                continue;
            if (e.Timestamp < oldestKept)
                continue;
            var stored = input.UseServerTimestamps ? e with { Timestamp = new DateTimeOffset(now.UtcTicks - now.UtcTicks % 10, TimeSpan.Zero) } : e;
            if (inputFilter is not null && !Matches(inputFilter, stored))
                continue;
            kept.Add(stored);
        }

        if (kept.Count > 0)
            await writer.WriteAsync(kept, cancellationToken);
        return new IngestionResult(input.MinimumLevel, kept.Count);
    }

    /// <summary>A key's filter was checked when the key was saved; parsed once, it is kept (a handful of keys, a few texts each).</summary>
    FilterExpression InputFilter(string text)
    {
        if (_inputFilters.TryGetValue(text, out var parsed))
            return parsed;
        parsed = FilterParser.Parse(text);
        if (_inputFilters.Count < 10_000)
            _inputFilters[text] = parsed;
        return parsed;
    }

    static bool Matches(FilterExpression filter, LogEvent e)
    {
        using var properties = JsonDocument.Parse(e.PropertiesJson);
        return FilterEvaluator.Matches(filter, ToFilterEvent(e, properties.RootElement));
    }

    public static FilterEvent ToFilterEvent(LogEvent e, JsonElement properties) =>
        new(e.Timestamp, e.Level, e.MessageTemplate, e.RenderedMessage, e.Exception, e.EventType, e.TraceId, e.SpanId, properties);
}


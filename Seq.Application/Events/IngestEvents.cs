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
public sealed class EventIngestion(ISettingsReadModel settings, IApiKeyReadModel apiKeys, ILogEventWriter writer, TimeProvider clock)
{
    readonly ConcurrentDictionary<string, FilterExpression> _inputFilters = new(StringComparer.Ordinal);

    public sealed record Limits(long MaximumPayloadBytes, long MaximumEventBytes);

    /// <summary>The limits in force now, and whether <paramref name="principal"/> may ingest at all.</summary>
    /// <exception cref="AuthenticationRequiredException">An API key is required and none was sent.</exception>
    /// <exception cref="AccessDeniedException">The caller lacks the Ingest permission that is required.</exception>
    public async Task<Limits> AdmitAsync(Principal principal, CancellationToken cancellationToken)
    {
        var changed = await settings.GetChangedValuesAsync(cancellationToken);
        if (bool.Parse(Value(changed, SettingCatalogue.RequireApiKeyForWritingEvents)) && !principal.Has(Permission.Ingest))
        {
            if (!principal.IsAuthenticated)
                throw new AuthenticationRequiredException("Writing events requires an API key with the Ingest permission: send it in the X-Seq-ApiKey header.");
            throw new AccessDeniedException("Writing events needs the Ingest permission, which the caller does not hold.");
        }
        return new Limits(long.Parse(Value(changed, SettingCatalogue.RawPayloadMaximumContentLength)),
            long.Parse(Value(changed, SettingCatalogue.RawEventMaximumContentLength)));
    }

    static string Value(IReadOnlyDictionary<string, string> changed, SettingDefinition setting) =>
        changed.GetValueOrDefault(setting.Name) ?? setting.DefaultValue;

    /// <summary>Reads the whole body, refusing it as soon as it passes <paramref name="maximumBytes"/>.</summary>
    /// <exception cref="PayloadTooLargeException"/>
    public static async Task<ReadOnlyMemory<byte>> ReadPayloadAsync(Stream body, long? contentLength, long maximumBytes, CancellationToken cancellationToken)
    {
        if (contentLength > maximumBytes)
            throw new PayloadTooLargeException(maximumBytes);
        var buffer = new ArrayBufferWriter<byte>(contentLength is > 0 and < 1024 * 1024 ? (int)contentLength.Value : 64 * 1024);
        while (true)
        {
            var memory = buffer.GetMemory(64 * 1024);
            var read = await body.ReadAsync(memory, cancellationToken);
            if (read == 0)
                return buffer.WrittenMemory;
            buffer.Advance(read);
            if (buffer.WrittenCount > maximumBytes)
                throw new PayloadTooLargeException(maximumBytes);
        }
    }

    /// <exception cref="PayloadValidationException">A line is not a CLEF event; nothing was stored.</exception>
    public async Task<IngestionResult> IngestAsync(Principal principal, ReadOnlyMemory<byte> payload, Limits limits, CancellationToken cancellationToken)
    {
        var input = principal.Type == PrincipalType.ApiKey
            ? (await apiKeys.FindAsync(principal.Id, cancellationToken))?.InputSettings ?? InputSettings.None
            : InputSettings.None;
        var applied = input.AppliedProperties.Select(p => new KeyValuePair<string, string?>(p.Name, p.Value)).ToList();

        var events = ClefParser.Parse(payload, limits.MaximumEventBytes, applied);
        var minimum = input.MinimumLevel is null ? 0 : Levels.Rank(input.MinimumLevel);
        var inputFilter = input.Filter is { } f ? InputFilter(f.Filter) : null;
        var kept = new List<LogEvent>(events.Count);
        var now = clock.GetUtcNow();
        foreach (var e in events)
        {
            if (minimum > 0 && Levels.Rank(e.Level) < minimum)
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


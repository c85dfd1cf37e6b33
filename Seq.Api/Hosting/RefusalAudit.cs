using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;

namespace Seq.Api.Hosting;

/// <summary>How refused requests are summarized in the audit log (ADR 0011).</summary>
/// <param name="Window">How long after a client address's recorded refusal its further refusals are only counted.</param>
/// <param name="MaximumTrackedAddresses">How many addresses are counted one by one; refusals from others share one count.</param>
public sealed record RefusalAuditOptions(TimeSpan Window, int MaximumTrackedAddresses)
{
    public static readonly RefusalAuditOptions Default = new(TimeSpan.FromSeconds(60), 10_000);
}

/// <summary>
/// Records requests refused before any operation ran (401, 403) without letting anonymous clients fill the audit disk:
/// per client address, the first refusal in a window is recorded in full, later ones in the same window are counted,
/// and one summary Advise follows when the window ends: on a timer, at the address's next refusal, or when the server
/// stops. Addresses beyond the tracked maximum share one count. ADR 0011.
/// </summary>
public sealed class RefusalAudit : IAsyncDisposable
{
    public const string SummaryTemplate = "{RefusalCount} further requests from {RemoteIPAddress} were refused in the last {WindowSeconds} s";
    public const string UntrackedSummaryTemplate = "{RefusalCount} requests from addresses not tracked one by one were refused in the last {WindowSeconds} s";

    sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start { get; set; } = start;
        public long Further { get; set; }
    }

    readonly AuditLog _log;
    readonly RefusalAuditOptions _options;
    readonly TimeProvider _clock;
    readonly ILogger<RefusalAudit> _logger;
    readonly Lock _sync = new();
    readonly Dictionary<string, Window> _windows = new(StringComparer.Ordinal);
    readonly ITimer? _timer;
    Window? _untracked;

    public RefusalAudit(AuditLog log, RefusalAuditOptions options, TimeProvider clock, ILogger<RefusalAudit> logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Window, TimeSpan.FromMilliseconds(100), nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaximumTrackedAddresses, 1, nameof(options));
        _log = log;
        _options = options;
        _clock = clock;
        _logger = logger;
        if (log.IsEnabled)
        {
            // A summary is at most a quarter of a window late.
            var period = TimeSpan.FromTicks(Math.Clamp(options.Window.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(5).Ticks));
            _timer = clock.CreateTimer(_ => Write(TakeSummaries(everything: false)), null, period, period);
        }
    }

    /// <summary>Records <paramref name="refusal"/> in full, or counts it if its address already has one recorded in this window.</summary>
    public void Record(AuditEntry refusal, Principal principal, HttpRequestInfo http)
    {
        if (!_log.IsEnabled)
            return;
        var address = http.RemoteIPAddress ?? "unknown";
        AuditEntry? summary = null;
        var inFull = true;
        lock (_sync)
        {
            var now = _clock.GetUtcNow();
            if (_windows.TryGetValue(address, out var window))
            {
                if (now - window.Start < _options.Window)
                {
                    window.Further++;
                    return;
                }
                summary = SummaryOf(address, window, now);
                window.Start = now;
                window.Further = 0;
            }
            else if (_windows.Count < _options.MaximumTrackedAddresses)
            {
                _windows[address] = new Window(now);
            }
            else
            {
                if (_untracked is { } untracked && now - untracked.Start >= _options.Window)
                {
                    summary = SummaryOf(null, untracked, now);
                    _untracked = null;
                }
                (_untracked ??= new Window(now)).Further++;
                inFull = false;
            }
        }
        // Outside the lock: the log keeps its own order, and the summary was taken before this refusal counted.
        if (summary is not null)
            Write(summary, Principal.Anonymous, null);
        if (inFull)
            Write(refusal, principal, http);
    }

    List<AuditEntry> TakeSummaries(bool everything)
    {
        var summaries = new List<AuditEntry>();
        lock (_sync)
        {
            var now = _clock.GetUtcNow();
            foreach (var (address, window) in _windows.ToList())
            {
                if (!everything && now - window.Start < _options.Window)
                    continue;
                _windows.Remove(address);
                if (SummaryOf(address, window, now) is { } summary)
                    summaries.Add(summary);
            }
            if (_untracked is { } untracked && (everything || now - untracked.Start >= _options.Window))
            {
                _untracked = null;
                if (SummaryOf(null, untracked, now) is { } summary)
                    summaries.Add(summary);
            }
        }
        return summaries;
    }

    AuditEntry? SummaryOf(string? address, Window window, DateTimeOffset now)
    {
        if (window.Further == 0)
            return null;
        var span = now - window.Start < _options.Window ? now - window.Start : _options.Window;
        var refused = AuditCatalogue.AccessRefusalsSummarized;
        return new AuditEntry(refused.Category, refused.Operation, AuditEventKind.Advise, Guid.NewGuid(),
            address is null ? UntrackedSummaryTemplate : SummaryTemplate,
            [new("RemoteIPAddress", address), new("RefusalCount", window.Further), new("WindowSeconds", Math.Max(1, (long)Math.Ceiling(span.TotalSeconds)))]);
    }

    void Write(List<AuditEntry> summaries)
    {
        foreach (var summary in summaries)
            Write(summary, Principal.Anonymous, null);
    }

    void Write(AuditEntry entry, Principal principal, HttpRequestInfo? http) => _ = WriteAsync(entry, principal, http);

    async Task WriteAsync(AuditEntry entry, Principal principal, HttpRequestInfo? http)
    {
        try
        {
            // An Advise does not wait to be durable; the log keeps its place in the order.
            await _log.WriteAsync(entry, principal, http, CancellationToken.None);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Could not write the audit record of refused requests");
        }
    }

    /// <summary>The counts still open are written before the audit log closes (it is disposed after this, which depends on it).</summary>
    public ValueTask DisposeAsync()
    {
        _timer?.Dispose();
        Write(TakeSummaries(everything: true));
        return ValueTask.CompletedTask;
    }
}

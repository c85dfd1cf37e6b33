using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Api.Hosting;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// The windows of <see cref="RefusalAudit"/> (ADR 0011) on a clock the test moves, with its summary timer fired by
/// hand, over a real audit file: which refusal is recorded in full, what each summary counts, and its window's length.
/// </summary>
public sealed class RefusalAuditWindowTests : IDisposable
{
    static readonly DateTimeOffset Start = new(2026, 1, 5, 12, 0, 0, TimeSpan.Zero);

    readonly TestPaths _paths = new();

    public void Dispose() => _paths.Dispose();

    /// <summary>A clock that stands still until moved, and keeps the timers created on it for the test to fire.</summary>
    sealed class HandClock : TimeProvider
    {
        DateTimeOffset _now = Start;

        public List<(TimerCallback Callback, TimeSpan DueTime, TimeSpan Period)> Timers { get; } = [];

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Timers.Add((_ => callback(state), dueTime, period));
            return new IdleTimer();
        }

        public void Tick() => Timers.Single().Callback(null);

        sealed class IdleTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    sealed class Audited : IAsyncDisposable
    {
        readonly string _directory;
        readonly AuditLog _log;

        public Audited(string directory, RefusalAuditOptions options, HandClock clock, bool enabled = true)
        {
            _directory = directory;
            var session = AuditSession.Start();
            var target = enabled ? new FileAuditTarget(directory, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance) : null;
            _log = new AuditLog(target, session, SecretKey.Generate(), TimeProvider.System);
            Refusals = new RefusalAudit(_log, options, clock, NullLogger<RefusalAudit>.Instance);
        }

        public RefusalAudit Refusals { get; }

        public void Refuse(string? address, string path = "/api/settings")
        {
            var refused = AuditCatalogue.AccessRefused;
            Refusals.Record(new AuditEntry(refused.Category, refused.Operation, AuditEventKind.Advise, Guid.NewGuid(), "Refused {Path}", [new("Path", path)]),
                Principal.Anonymous, new HttpRequestInfo("GET", path, address, null));
        }

        /// <summary>Stops the refusal audit (writing the open counts) and the log, and reads what reached the file.</summary>
        public async Task<List<JsonElement>> StopAndReadAsync()
        {
            await Refusals.DisposeAsync();
            await _log.DisposeAsync();
            return Directory.Exists(_directory)
                ? [.. Directory.GetFiles(_directory, "seq-audit-*.ndjson").SelectMany(File.ReadAllLines).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone())]
                : [];
        }

        public async ValueTask DisposeAsync()
        {
            await Refusals.DisposeAsync();
            await _log.DisposeAsync();
        }
    }

    static bool IsRefusal(JsonElement e) => Text(e, "Operation") == "Refuse";

    static bool IsSummary(JsonElement e) => Text(e, "Operation") == "RefuseSummary";

    static string? Text(JsonElement e, string property) => e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    static (string? Address, long Count, long Seconds) Summary(JsonElement e) =>
        (Text(e, "RemoteIPAddress"), e.GetProperty("RefusalCount").GetInt64(), e.GetProperty("WindowSeconds").GetInt64());

    [Theory]
    [InlineData(100, 50)]
    [InlineData(400, 100)]
    [InlineData(8_000, 2_000)]
    [InlineData(60_000, 5_000)]
    public async Task The_summary_timer_fires_every_quarter_window_but_at_least_every_5_s_and_at_most_every_50_ms(int windowMilliseconds, int periodMilliseconds)
    {
        var clock = new HandClock();
        await using var audited = new Audited(_paths.New("refusal-window"), new RefusalAuditOptions(TimeSpan.FromMilliseconds(windowMilliseconds), 10), clock);

        var timer = clock.Timers.ShouldHaveSingleItem();
        timer.Period.ShouldBe(TimeSpan.FromMilliseconds(periodMilliseconds));
        timer.DueTime.ShouldBe(timer.Period);
    }

    [Fact]
    public async Task With_auditing_off_nothing_is_recorded_and_no_timer_runs()
    {
        var clock = new HandClock();
        var directory = _paths.New("refusal-off");
        var audited = new Audited(directory, RefusalAuditOptions.Default, clock, enabled: false);
        audited.Refuse("192.0.2.1");
        audited.Refuse("192.0.2.1");

        (await audited.StopAndReadAsync()).ShouldBeEmpty();
        clock.Timers.ShouldBeEmpty();
    }

    [Fact]
    public void A_window_under_100_ms_or_fewer_than_one_tracked_address_is_refused()
    {
        var log = new AuditLog(null, AuditSession.Start(), SecretKey.Generate(), TimeProvider.System);

        Should.Throw<ArgumentOutOfRangeException>(() => new RefusalAudit(log, new RefusalAuditOptions(TimeSpan.FromMilliseconds(99), 10), TimeProvider.System, NullLogger<RefusalAudit>.Instance));
        Should.Throw<ArgumentOutOfRangeException>(() => new RefusalAudit(log, new RefusalAuditOptions(TimeSpan.FromSeconds(1), 0), TimeProvider.System, NullLogger<RefusalAudit>.Instance));
        Should.NotThrow(() => new RefusalAudit(log, new RefusalAuditOptions(TimeSpan.FromMilliseconds(100), 1), TimeProvider.System, NullLogger<RefusalAudit>.Instance));
    }

    [Fact]
    public async Task A_refusal_exactly_one_window_after_the_recorded_one_opens_a_new_window_after_the_summary_of_the_last()
    {
        var clock = new HandClock();
        var audited = new Audited(_paths.New("refusal-boundary"), new RefusalAuditOptions(TimeSpan.FromSeconds(10), 10), clock);
        audited.Refuse("192.0.2.1", "/first");
        clock.Advance(TimeSpan.FromTicks(25_000_000));
        audited.Refuse("192.0.2.1", "/counted-1");
        clock.Advance(TimeSpan.FromTicks(74_999_999));
        audited.Refuse("192.0.2.1", "/counted-2");
        clock.Advance(TimeSpan.FromTicks(1));
        audited.Refuse("192.0.2.1", "/second");

        var events = await audited.StopAndReadAsync();

        events.Where(IsRefusal).Select(e => Text(e, "Path")).ShouldBe(["/first", "/second"]);
        var summary = events.Single(IsSummary);
        Summary(summary).ShouldBe(("192.0.2.1", 2L, 10L));
        Text(summary, "Event").ShouldBe("Advise");
        events.IndexOf(summary).ShouldBeLessThan(events.FindIndex(e => Text(e, "Path") == "/second"));
    }

    [Fact]
    public async Task A_summary_taken_when_the_server_stops_names_the_seconds_its_window_was_open_rounded_up()
    {
        var clock = new HandClock();
        var audited = new Audited(_paths.New("refusal-stop"), new RefusalAuditOptions(TimeSpan.FromSeconds(60), 10), clock);
        audited.Refuse("192.0.2.1");
        audited.Refuse("192.0.2.1");
        audited.Refuse("192.0.2.2");
        audited.Refuse("192.0.2.2");
        audited.Refuse("192.0.2.2");
        clock.Advance(TimeSpan.FromSeconds(2.2));
        // Not a window yet: the timer leaves both counts open.
        clock.Tick();

        var events = await audited.StopAndReadAsync();

        events.Count(IsRefusal).ShouldBe(2);
        events.Where(IsSummary).Select(Summary).ShouldBe(new (string?, long, long)[] { ("192.0.2.1", 1, 3), ("192.0.2.2", 2, 3) }, ignoreOrder: true);
    }

    [Fact]
    public async Task A_window_that_has_ended_is_summarized_by_the_timer_with_the_windows_length_and_one_refusal_alone_needs_no_summary()
    {
        var clock = new HandClock();
        var audited = new Audited(_paths.New("refusal-timer"), new RefusalAuditOptions(TimeSpan.FromSeconds(10), 10), clock);
        audited.Refuse("192.0.2.1");
        audited.Refuse("192.0.2.1");
        audited.Refuse("192.0.2.9");
        clock.Advance(TimeSpan.FromSeconds(9.9));
        clock.Tick();
        clock.Advance(TimeSpan.FromSeconds(25));
        clock.Tick();
        // The timer forgot the address: its next refusal is recorded in full, not counted in an old window.
        audited.Refuse("192.0.2.1", "/after");
        clock.Tick();

        var events = await audited.StopAndReadAsync();

        events.Where(IsSummary).Select(Summary).ShouldBe(new (string?, long, long)[] { ("192.0.2.1", 1, 10) });
        events.Where(IsRefusal).Select(e => Text(e, "Path")).ShouldBe(["/api/settings", "/api/settings", "/after"]);
    }

    [Fact]
    public async Task Refusals_from_untracked_addresses_share_a_count_that_a_window_later_is_summarized_and_restarted()
    {
        var clock = new HandClock();
        var audited = new Audited(_paths.New("refusal-untracked"), new RefusalAuditOptions(TimeSpan.FromSeconds(10), 1), clock);
        audited.Refuse("192.0.2.1", "/tracked");
        audited.Refuse("192.0.2.2");
        audited.Refuse("192.0.2.3");
        clock.Advance(TimeSpan.FromSeconds(9));
        audited.Refuse("192.0.2.4");
        clock.Advance(TimeSpan.FromSeconds(1));
        // Exactly a window after the shared count began: it is summarized, and this one starts the next count.
        audited.Refuse("192.0.2.5");
        clock.Advance(TimeSpan.FromSeconds(4));

        var events = await audited.StopAndReadAsync();

        events.Where(IsRefusal).Select(e => Text(e, "Path")).ShouldBe(["/tracked"]);
        var untracked = events.Where(IsSummary).Where(e => e.GetProperty("RemoteIPAddress").ValueKind == JsonValueKind.Null).Select(Summary).ToList();
        untracked.ShouldBe(new (string?, long, long)[] { (null, 3, 10), (null, 1, 4) });
        events.Where(IsSummary).Where(e => e.GetProperty("RemoteIPAddress").ValueKind == JsonValueKind.Null)
            .ShouldAllBe(e => Text(e, "@m")!.Contains("not tracked one by one"));
    }

    [Fact]
    public async Task The_timer_summarizes_the_untracked_count_once_its_window_has_ended_and_not_before()
    {
        var clock = new HandClock();
        var audited = new Audited(_paths.New("refusal-untracked-timer"), new RefusalAuditOptions(TimeSpan.FromSeconds(10), 1), clock);
        audited.Refuse("192.0.2.1");
        audited.Refuse("192.0.2.2");
        audited.Refuse("192.0.2.3");
        clock.Advance(TimeSpan.FromSeconds(9.5));
        clock.Tick();
        clock.Advance(TimeSpan.FromSeconds(0.5));
        clock.Tick();
        // The tracked address's window ended too (with nothing to summarize): it is tracked again, the next one is not.
        audited.Refuse("192.0.2.1");
        audited.Refuse("192.0.2.4");
        clock.Advance(TimeSpan.FromSeconds(2));

        var events = await audited.StopAndReadAsync();

        events.Count(IsRefusal).ShouldBe(2);
        events.Where(IsSummary).Select(Summary).ShouldBe(new (string?, long, long)[] { (null, 2, 10), (null, 1, 2) });
    }

    [Fact]
    public async Task The_timer_leaves_an_open_window_alone_and_ends_it_exactly_one_window_after_it_began_freeing_its_place()
    {
        var clock = new HandClock();
        // One tracked address: whether the timer freed its place shows in how the next address is recorded.
        var audited = new Audited(_paths.New("refusal-timer-edge"), new RefusalAuditOptions(TimeSpan.FromSeconds(10), 1), clock);
        audited.Refuse("192.0.2.1");
        audited.Refuse("192.0.2.1");
        clock.Advance(TimeSpan.FromSeconds(5));
        clock.Tick();
        // Still in its window: counted, not recorded in full.
        audited.Refuse("192.0.2.1", "/during");
        clock.Advance(TimeSpan.FromSeconds(5));
        clock.Tick();
        // The window ended at the tick, so this address takes the freed place and is recorded in full.
        audited.Refuse("192.0.2.2", "/next");

        var events = await audited.StopAndReadAsync();

        events.Where(IsRefusal).Select(e => Text(e, "Path")).ShouldBe(["/api/settings", "/next"]);
        events.Where(IsSummary).Select(Summary).ShouldBe(new (string?, long, long)[] { ("192.0.2.1", 2, 10) });
    }

    [Fact]
    public async Task The_timer_summarizes_the_untracked_count_exactly_one_window_after_it_began_and_before_later_lines()
    {
        var clock = new HandClock();
        var audited = new Audited(_paths.New("refusal-untracked-edge"), new RefusalAuditOptions(TimeSpan.FromSeconds(10), 1), clock);
        audited.Refuse("192.0.2.1");
        audited.Refuse("192.0.2.2");
        audited.Refuse("192.0.2.3");
        clock.Advance(TimeSpan.FromSeconds(9));
        clock.Tick();
        clock.Advance(TimeSpan.FromSeconds(1));
        clock.Tick();
        clock.Advance(TimeSpan.FromSeconds(1));
        // The tracked address's window ended with the tick too: this is recorded in full, after the summary.
        audited.Refuse("192.0.2.1", "/later");
        clock.Advance(TimeSpan.FromSeconds(1));
        audited.Refuse("192.0.2.4");
        clock.Advance(TimeSpan.FromSeconds(2));

        var events = await audited.StopAndReadAsync();

        var order = events.Where(e => IsSummary(e) || IsRefusal(e)).Select(e => IsSummary(e) ? $"summary {Summary(e)}" : Text(e, "Path")).ToList();
        order.ShouldBe(["/api/settings", "summary (, 2, 10)", "/later", "summary (, 1, 2)"]);
    }
}

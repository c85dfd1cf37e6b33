using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Seq.Infrastructure.Auditing;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// The queue and loop in front of both audit targets, over a sink that records each batch and fails or holds a
/// write when told to: how lines are cut into batches, which callers a failure faults, the backoff, the lazy fsync
/// and shutdown. The real sinks are covered by <see cref="FileAuditTargetTests"/> and <see cref="ServerAuditTargetTests"/>.
/// </summary>
public sealed class OrderedAuditWriterTests
{
    const string Description = "scripted target";
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    readonly RecordingLogger _log = new();

    static byte[] Line(string text) => Encoding.UTF8.GetBytes(text);

    static string[] Texts(IEnumerable<byte[]> lines) => [.. lines.Select(l => Encoding.UTF8.GetString(l))];

    OrderedAuditWriter NewWriter(ScriptedSink sink, TimeSpan? initialBackoff = null) =>
        new(sink, Description, _log, initialBackoff ?? TimeSpan.FromMilliseconds(50));

    [Fact]
    public async Task Lines_queued_during_a_write_go_in_batches_of_at_most_the_sinks_line_bound_durable_when_any_line_blocks()
    {
        var sink = new ScriptedSink(maxBatchLines: 3);
        await using var writer = NewWriter(sink);
        sink.Hold();
        var first = writer.Enqueue(Line("L1"), blocking: true);
        await sink.EnteredAsync(1);
        var rest = Enumerable.Range(2, 7).Select(i => writer.Enqueue(Line($"L{i}"), blocking: i is 3 or 8)).ToList();
        rest[0].IsCompletedSuccessfully.ShouldBeTrue("a line that does not block returns once queued");
        rest[1].IsCompleted.ShouldBeFalse("a blocking line waits until it is durable");
        writer.QueuedLines.ShouldBe(8);
        writer.QueuedBytes.ShouldBe(8 * 3, "each line's bytes and its line break");
        writer.DurableLines.ShouldBe(0);

        sink.Release();
        await first.WaitAsync(Patience);
        await Task.WhenAll(rest).WaitAsync(Patience);

        sink.Batches.Select(b => Texts(b.Lines)).ShouldBe([["L1"], ["L2", "L3", "L4"], ["L5", "L6", "L7"], ["L8"]]);
        sink.Batches.Select(b => b.Durable).ShouldBe([true, true, false, true]);
        writer.QueuedLines.ShouldBe(0);
        writer.QueuedBytes.ShouldBe(0);
        writer.DurableLines.ShouldBe(8);
    }

    [Fact]
    public async Task A_batch_stops_before_the_line_that_would_pass_the_sinks_byte_bound_but_a_longer_line_still_goes_alone()
    {
        // Each line costs its bytes and a line break: 4 + 1 and 6 + 1 pass the bound of ten, 6 + 1 and 2 + 1 fill it.
        var sink = new ScriptedSink(maxBatchBytes: 10);
        await using var writer = NewWriter(sink);
        sink.Hold();
        var tooLong = writer.Enqueue(Line("a line longer than the bound"), blocking: true);
        await sink.EnteredAsync(1);
        var rest = new[] { "aaaa", "bbbbbb", "cc", "dddd", "eeee", "ffff", "another line over the bound" }
            .Select((text, i) => writer.Enqueue(Line(text), blocking: i == 6)).ToList();

        sink.Release();
        await tooLong.WaitAsync(Patience);
        await Task.WhenAll(rest).WaitAsync(Patience);

        sink.Batches.Select(b => Texts(b.Lines)).ShouldBe(
            [["a line longer than the bound"], ["aaaa"], ["bbbbbb", "cc"], ["dddd", "eeee"], ["ffff"], ["another line over the bound"]]);
        writer.QueuedBytes.ShouldBe(0);
    }

    [Fact]
    public async Task A_failed_write_faults_its_blocking_caller_keeps_the_line_at_the_head_and_writes_it_once_when_the_sink_recovers()
    {
        var sink = new ScriptedSink { Failure = new IOException("the disk is gone") };
        await using var writer = NewWriter(sink);

        var refused = await Should.ThrowAsync<AuditTargetException>(() => writer.Enqueue(Line("L1"), blocking: true).WaitAsync(Patience));
        refused.Message.ShouldBe($"The audit line could not be made durable in {Description}: the disk is gone");
        refused.InnerException.ShouldBeOfType<IOException>();
        writer.State.ShouldBe(AuditTargetState.Unavailable);
        writer.Problem.ShouldBe("The last write to the audit target failed; audited operations are refused until a write succeeds.");
        writer.QueuedLines.ShouldBe(1);
        writer.QueuedBytes.ShouldBe(3);
        await Poll.UntilAsync(() => sink.Attempts >= 3, Patience, "two retries");
        _log.Warnings.ShouldBe(1, "the outage is reported once, not once per retry");
        _log.Text.ShouldContain($"The audit target {Description} is unavailable, so audited operations will be refused until it recovers: the disk is gone");

        var failed = sink.StopFailing();
        await Poll.UntilAsync(() => writer.QueuedLines == 0, Patience, "the retry after recovery");
        writer.State.ShouldBe(AuditTargetState.Available);
        writer.Problem.ShouldBeNull();
        writer.QueuedBytes.ShouldBe(0);
        writer.DurableLines.ShouldBe(1);
        sink.Batches.Select(b => Texts(b.Lines)).ShouldBe([["L1"]]);
        _log.Entries.ShouldContain(e => e.Level == LogLevel.Information
            && e.Message.StartsWith($"The audit target {Description} is available again after {failed} failed attempts", StringComparison.Ordinal));

        // A second outage is reported again, and counts its attempts from zero.
        sink.Failure = new IOException("gone again");
        await Should.ThrowAsync<AuditTargetException>(() => writer.Enqueue(Line("L2"), blocking: true).WaitAsync(Patience));
        _log.Warnings.ShouldBe(2);
        failed = sink.StopFailing();
        await Poll.UntilAsync(() => writer.QueuedLines == 0, Patience, "the second recovery");
        _log.Entries.ShouldContain(e => e.Message.StartsWith($"The audit target {Description} is available again after {failed} failed attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_blocking_line_queued_while_a_write_fails_is_not_faulted_by_that_write_and_is_written_by_the_next()
    {
        var sink = new ScriptedSink { Failure = new IOException("one bad write") };
        await using var writer = NewWriter(sink);
        sink.Hold();
        var first = writer.Enqueue(Line("L1"), blocking: true);
        await sink.EnteredAsync(1);
        var second = writer.Enqueue(Line("L2"), blocking: true);

        sink.FailOnce();
        sink.Release();

        await Should.ThrowAsync<AuditTargetException>(() => first.WaitAsync(Patience));
        await second.WaitAsync(Patience);
        sink.Batches.Select(b => Texts(b.Lines)).ShouldBe([["L1", "L2"]]);
        writer.DurableLines.ShouldBe(2);
    }

    [Fact]
    public async Task Lines_that_do_not_block_are_made_durable_by_a_lazy_flush_about_a_second_later_which_is_retried_when_it_fails()
    {
        var sink = new ScriptedSink { FlushFailure = new IOException("fsync failed") };
        await using var writer = NewWriter(sink);
        var clock = Stopwatch.StartNew();

        await writer.Enqueue(Line("L1"), blocking: false).WaitAsync(Patience);
        await Poll.UntilAsync(() => sink.Batches.Count == 1, Patience, "the write");
        sink.Batches[0].Durable.ShouldBeFalse();
        writer.DurableLines.ShouldBe(0);
        writer.QueuedLines.ShouldBe(0, "written, so no longer queued");

        await Poll.UntilAsync(() => sink.FlushAttempts >= 1, Patience, "the lazy flush");
        clock.Elapsed.ShouldBeGreaterThan(TimeSpan.FromMilliseconds(900), "not before about a second");
        await Poll.UntilAsync(() => writer.State == AuditTargetState.Unavailable, Patience, "the failed flush to show");
        writer.DurableLines.ShouldBe(0);
        await Poll.UntilAsync(() => sink.FlushAttempts >= 2, Patience, "the flush retried");

        sink.FlushFailure = null;
        await Poll.UntilAsync(() => writer.DurableLines == 1, Patience, "a flush that succeeds");
        writer.State.ShouldBe(AuditTargetState.Available);
        sink.Batches.Count.ShouldBe(1, "a failed flush does not write the lines again");
    }

    [Fact]
    public async Task Retries_back_off_from_the_initial_delay_doubling_each_time()
    {
        var sink = new ScriptedSink { Failure = new IOException("still failing") };
        await using var writer = NewWriter(sink, TimeSpan.FromMilliseconds(200));

        _ = writer.Enqueue(Line("L1"), blocking: false);
        await Poll.UntilAsync(() => sink.Attempts >= 4, Patience, "three retries");
        sink.StopFailing();

        var gaps = sink.AttemptTimes.Zip(sink.AttemptTimes.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b)).Take(3).ToList();
        gaps[0].ShouldBeGreaterThan(TimeSpan.FromMilliseconds(190));
        gaps[1].ShouldBeGreaterThan(TimeSpan.FromMilliseconds(390));
        gaps[2].ShouldBeGreaterThan(TimeSpan.FromMilliseconds(790));
    }

    [Fact]
    public async Task A_blocking_line_does_not_wait_out_the_backoff_of_a_failed_write()
    {
        var sink = new ScriptedSink { Failure = new IOException("one bad write") };
        await using var writer = NewWriter(sink, TimeSpan.FromMinutes(5));
        sink.FailOnce();
        _ = writer.Enqueue(Line("L1"), blocking: false);
        await Poll.UntilAsync(() => sink.Attempts == 1 && writer.State == AuditTargetState.Unavailable, Patience, "the failed write");

        await writer.Enqueue(Line("L2"), blocking: true).WaitAsync(Patience);

        sink.Batches.Select(b => Texts(b.Lines)).ShouldBe([["L1", "L2"]]);
    }

    [Fact]
    public async Task At_shutdown_lines_the_sink_never_took_are_reported_lost_their_callers_told_and_a_failed_close_is_logged()
    {
        var sink = new ScriptedSink { Failure = new IOException("never recovers"), DisposeFailure = new IOException("close failed") };
        // A backoff longer than the shutdown deadline: closing must wake the writer from it, not wait it out.
        var writer = NewWriter(sink, TimeSpan.FromMinutes(5));
        var opening = writer.Enqueue(Line("L1"), blocking: true);
        await Should.ThrowAsync<AuditTargetException>(() => opening.WaitAsync(Patience));
        _ = writer.Enqueue(Line("L2"), blocking: false);

        await writer.DisposeAsync().AsTask().WaitAsync(Patience);

        _log.Entries.ShouldNotContain(e => e.Message.Contains("did not finish its last write in time", StringComparison.Ordinal));
        _log.Entries.ShouldContain(e => e.Level == LogLevel.Error && e.Message.StartsWith($"2 audit lines could not be written to {Description} before shutdown", StringComparison.Ordinal));
        _log.Entries.ShouldContain(e => e.Level == LogLevel.Error && e.Message.StartsWith($"The audit target {Description} could not be closed cleanly: close failed", StringComparison.Ordinal));
        sink.Disposed.ShouldBeTrue();
        writer.QueuedLines.ShouldBe(0);
        writer.QueuedBytes.ShouldBe(0);
        var closed = Should.Throw<AuditTargetException>(() => writer.Enqueue(Line("L3"), blocking: false));
        closed.TargetClosed.ShouldBeTrue();
        closed.Message.ShouldBe($"The audit target {Description} is closed; the line was not written.");
    }

    [Theory]
    [InlineData("")]
    [InlineData("one\ntwo")]
    [InlineData("one\rtwo")]
    [InlineData("\nleading")]
    public async Task An_empty_line_or_one_with_a_line_break_is_refused_and_nothing_is_queued(string text)
    {
        var sink = new ScriptedSink();
        await using var writer = NewWriter(sink);

        Should.Throw<ArgumentException>(() => writer.Enqueue(Line(text), blocking: false))
            .Message.ShouldStartWith("An audit line must be non-empty and hold no line breaks.");

        writer.QueuedLines.ShouldBe(0);
        writer.QueuedBytes.ShouldBe(0);
        Should.Throw<ArgumentNullException>(() => writer.Enqueue(null!, blocking: false));
    }

    [Fact]
    public async Task A_clean_shutdown_writes_and_flushes_every_queued_line_and_reports_nothing_lost()
    {
        var sink = new ScriptedSink();
        var writer = NewWriter(sink);
        sink.Hold();
        _ = writer.Enqueue(Line("L1"), blocking: false);
        await sink.EnteredAsync(1);
        _ = writer.Enqueue(Line("L2"), blocking: false);

        var closing = writer.DisposeAsync().AsTask();
        sink.Release();
        await closing.WaitAsync(Patience);

        sink.Batches.Select(b => Texts(b.Lines)).ShouldBe([["L1"], ["L2"]]);
        sink.FlushAttempts.ShouldBe(1, "the lazy flush is not left for later at shutdown");
        writer.DurableLines.ShouldBe(2);
        sink.Disposed.ShouldBeTrue();
        _log.Entries.ShouldBeEmpty(_log.Text);
    }

    [Fact]
    public async Task A_write_that_keeps_failing_at_shutdown_is_retried_with_backoff_until_the_deadline_not_given_up_at_once()
    {
        var sink = new ScriptedSink { Failure = new IOException("failing for a while") };
        var writer = NewWriter(sink);
        _ = writer.Enqueue(Line("L1"), blocking: false);
        await Poll.UntilAsync(() => sink.Attempts >= 1, Patience, "the first failed write");
        var before = sink.Attempts;

        var closing = writer.DisposeAsync().AsTask();
        // The close retries at once, fails again, and must then wait out its backoff and try once more.
        await Poll.UntilAsync(() => sink.Attempts >= before + 2, TimeSpan.FromSeconds(5), "a retry after a failed write during shutdown");
        sink.StopFailing();
        await closing.WaitAsync(Patience);

        sink.Batches.Select(b => Texts(b.Lines)).ShouldBe([["L1"]]);
        writer.DurableLines.ShouldBe(1);
        _log.Entries.ShouldNotContain(e => e.Message.Contains("could not be written", StringComparison.Ordinal), _log.Text);
    }

    [Fact]
    public async Task Shutdown_retries_at_once_instead_of_waiting_out_a_backoff_longer_than_its_deadline()
    {
        var sink = new ScriptedSink { Failure = new IOException("failed once, recovered since") };
        var writer = NewWriter(sink, TimeSpan.FromMinutes(5));
        _ = writer.Enqueue(Line("L1"), blocking: false);
        await Poll.UntilAsync(() => sink.Attempts == 1 && writer.State == AuditTargetState.Unavailable, Patience, "the failed write");
        sink.StopFailing();

        var clock = Stopwatch.StartNew();
        await writer.DisposeAsync().AsTask().WaitAsync(Patience);

        sink.Batches.Select(b => Texts(b.Lines)).ShouldBe([["L1"]]);
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5), "the 10 s shutdown deadline is not waited out");
        _log.Entries.ShouldNotContain(e => e.Message.Contains("could not be written", StringComparison.Ordinal), _log.Text);
    }

    [Fact]
    public async Task A_write_still_hanging_at_the_shutdown_deadline_is_abandoned_and_every_waiting_caller_is_told()
    {
        var sink = new ScriptedSink();
        var writer = NewWriter(sink);
        sink.Hold();
        var hanging = writer.Enqueue(Line("L1"), blocking: true);
        await sink.EnteredAsync(1);
        var behind = writer.Enqueue(Line("L2"), blocking: true);

        await writer.DisposeAsync().AsTask().WaitAsync(Patience);

        (await Should.ThrowAsync<AuditTargetException>(() => hanging.WaitAsync(Patience))).Message
            .ShouldBe($"The audit line could not be made durable in {Description}: the audit target was closed before the write finished");
        (await Should.ThrowAsync<AuditTargetException>(() => behind.WaitAsync(Patience))).Message
            .ShouldBe($"The audit target {Description} was closed before the line could be written.");
        _log.Entries.ShouldContain(e => e.Level == LogLevel.Error && e.Message.StartsWith($"2 audit lines could not be written to {Description} before shutdown", StringComparison.Ordinal));
        sink.Batches.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_steady_stream_of_lines_that_do_not_block_does_not_put_off_their_lazy_flush()
    {
        var sink = new ScriptedSink();
        await using var writer = NewWriter(sink);
        var clock = Stopwatch.StartNew();
        var sent = 0;
        while (sink.FlushAttempts == 0 && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            _ = writer.Enqueue(Line($"L{++sent}"), blocking: false);
            await Task.Delay(100);
        }

        sink.FlushAttempts.ShouldBeGreaterThan(0);
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "the flush is due a second after the first unflushed line, not after the last");
    }

    /// <summary>Records what it is given; fails, or holds a write until released, when told to.</summary>
    sealed class ScriptedSink(int maxBatchLines = 1000, long maxBatchBytes = 1024 * 1024) : IAuditSink
    {
        readonly Lock _gate = new();
        readonly List<(byte[][] Lines, bool Durable)> _batches = [];
        readonly List<long> _attemptTimes = [];
        readonly ManualResetEventSlim _open = new(initialState: true);
        readonly SemaphoreSlim _entered = new(0);
        volatile bool _failOnce;
        int _failed;
        int _flushAttempts;

        public int MaxBatchLines => maxBatchLines;

        public long MaxBatchBytes => maxBatchBytes;

        /// <summary>Every write fails with this while it is set (or only the next, after <see cref="FailOnce"/>).</summary>
        public Exception? Failure { get; set; }

        public Exception? FlushFailure { get; set; }

        public Exception? DisposeFailure { get; init; }

        public bool Disposed { get; private set; }

        public int FlushAttempts => Volatile.Read(ref _flushAttempts);

        public IReadOnlyList<(byte[][] Lines, bool Durable)> Batches
        {
            get
            {
                lock (_gate)
                    return [.. _batches];
            }
        }

        public IReadOnlyList<long> AttemptTimes
        {
            get
            {
                lock (_gate)
                    return [.. _attemptTimes];
            }
        }

        public int Attempts => AttemptTimes.Count;

        public void Hold() => _open.Reset();

        public void Release() => _open.Set();

        public void FailOnce() => _failOnce = true;

        /// <summary>Stops failing; returns how many writes failed since the last call.</summary>
        public int StopFailing()
        {
            lock (_gate)
            {
                Failure = null;
                var failed = _failed;
                _failed = 0;
                return failed;
            }
        }

        /// <summary>Waits until the <paramref name="count"/>th write has begun.</summary>
        public async Task EnteredAsync(int count)
        {
            for (var i = 0; i < count; i++)
                (await _entered.WaitAsync(Patience)).ShouldBeTrue("the write to begin");
        }

        public Task WriteBatchAsync(IReadOnlyList<byte[]> lines, bool durable, CancellationToken cancellationToken)
        {
            lock (_gate)
                _attemptTimes.Add(Stopwatch.GetTimestamp());
            _entered.Release();
            _open.Wait(cancellationToken);
            lock (_gate)
            {
                if (Failure is { } failure)
                {
                    _failed++;
                    if (_failOnce)
                    {
                        _failOnce = false;
                        Failure = null;
                    }
                    throw failure;
                }
                _batches.Add(([.. lines], durable));
            }
            return Task.CompletedTask;
        }

        public Task FlushAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _flushAttempts);
            return FlushFailure is { } failure ? Task.FromException(failure) : Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return DisposeFailure is { } failure ? ValueTask.FromException(failure) : ValueTask.CompletedTask;
        }
    }
}

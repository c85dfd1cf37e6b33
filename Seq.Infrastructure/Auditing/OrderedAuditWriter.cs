using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Seq.Infrastructure.Auditing;

/// <summary>
/// One ordered queue and one background loop in front of an <see cref="IAuditSink"/>. The loop writes everything
/// queued (up to the sink's bound) as one batch, so concurrent blocking callers share one fsync or one POST. A line
/// leaves the queue only once written: a failed batch stays at the head and is retried, because the layer above has
/// already given it a sequence number and a place in the hash chain.
/// </summary>
sealed class OrderedAuditWriter : IAsyncDisposable
{
    internal static readonly TimeSpan DefaultInitialBackoff = TimeSpan.FromMilliseconds(100);
    static readonly TimeSpan MaximumBackoff = TimeSpan.FromSeconds(5);
    static readonly TimeSpan LazyFlushDelay = TimeSpan.FromSeconds(1);
    static readonly TimeSpan DisposeDeadline = TimeSpan.FromSeconds(10);
    static readonly TimeSpan AbandonGrace = TimeSpan.FromSeconds(2);

    readonly IAuditSink _sink;
    readonly string _description;
    readonly ILogger _logger;
    readonly TimeSpan _initialBackoff;
    readonly TimeSpan? _writeTimeout;
    readonly object _gate = new();
    readonly List<PendingLine> _queue = [];
    readonly CancellationTokenSource _abandon = new();
    readonly CancellationTokenRegistration _abandonRegistration;
    readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    bool _urgent;
    bool _stopping;
    Task? _disposal;
    volatile AuditTargetState _state = AuditTargetState.Available;
    int _failedAttempts;
    long _queuedLines;
    long _queuedBytes;
    long _attemptStartedAt;
    // Touched only by the loop's thread; read by anyone through DurableLines.
    long _writtenLines;
    long _durableLines;

    /// <param name="writeTimeout">
    /// When set, a blocking line that is not durable within it faults its caller (the line stays queued and is
    /// written in its place later), and the target counts as unavailable while an attempt runs longer than it.
    /// </param>
    public OrderedAuditWriter(IAuditSink sink, string description, ILogger logger, TimeSpan initialBackoff, TimeSpan? writeTimeout = null)
    {
        _sink = sink;
        _description = description;
        _logger = logger;
        _initialBackoff = initialBackoff;
        _writeTimeout = writeTimeout;
        _abandonRegistration = _abandon.Token.Register(() =>
        {
            lock (_gate)
                Monitor.Pulse(_gate);
        });
        new Thread(Run) { IsBackground = true, Name = "Audit writer" }.Start();
    }

    public AuditTargetState State => _state == AuditTargetState.Unavailable || IsStalled ? AuditTargetState.Unavailable : AuditTargetState.Available;

    /// <summary>Why the target is unavailable, in words safe for an anonymous caller (no path, no address), or null.</summary>
    public string? Problem =>
        _state == AuditTargetState.Unavailable ? "The last write to the audit target failed; audited operations are refused until a write succeeds."
        : IsStalled ? $"A write to the audit target has taken longer than {_writeTimeout!.Value.TotalSeconds:0.###} s; audited operations are refused until it finishes."
        : null;

    bool IsStalled =>
        _writeTimeout is { } limit && Volatile.Read(ref _attemptStartedAt) is var started and not 0
        && Stopwatch.GetElapsedTime(started) > limit;

    public long QueuedLines => Interlocked.Read(ref _queuedLines);

    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>
    /// How many lines, counted from the first ever queued, are durable: written and fsynced (file), or answered 201
    /// (server). Lines are durable in queue order, so the first this many are.
    /// </summary>
    public long DurableLines => Interlocked.Read(ref _durableLines);

    public Task Enqueue(byte[] line, bool blocking)
    {
        ArgumentNullException.ThrowIfNull(line);
        // A line break inside a line would split one event into two in the file and in CLEF alike.
        if (line.Length == 0 || line.AsSpan().IndexOfAny((byte)'\n', (byte)'\r') >= 0)
            throw new ArgumentException("An audit line must be non-empty and hold no line breaks.", nameof(line));
        var pending = new PendingLine(line, blocking);
        // Taken now: once queued, the loop may fault the waiter and clear it before this method returns.
        var written = pending.Waiter?.Task ?? Task.CompletedTask;
        lock (_gate)
        {
            // After disposal began nothing would write the line, and a silent drop would leave a gap in the sequence.
            if (_stopping)
                throw new AuditTargetException($"The audit target {_description} is closed; the line was not written.") { TargetClosed = true };
            _queue.Add(pending);
            Interlocked.Increment(ref _queuedLines);
            Interlocked.Add(ref _queuedBytes, line.Length + 1);
            if (blocking)
                _urgent = true;
            Monitor.Pulse(_gate);
        }
        return blocking && _writeTimeout is { } limit ? WithinAsync(written, limit) : written;
    }

    async Task WithinAsync(Task written, TimeSpan limit)
    {
        try
        {
            await written.WaitAsync(limit);
        }
        catch (TimeoutException timeout)
        {
            throw new AuditTargetException(
                $"The audit line was not durable in {_description} within {limit.TotalSeconds:0.###} s; it stays queued and is written in its place once the target recovers.", timeout);
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposal is null)
            {
                _stopping = true;
                _urgent = true;
                Monitor.Pulse(_gate);
                _disposal = StopAsync();
            }
            return new ValueTask(_disposal);
        }
    }

    async Task StopAsync()
    {
        // DisposeAsync starts this under the lock; nothing of it should run there.
        await Task.Yield();
        if (await Task.WhenAny(_stopped.Task, Task.Delay(DisposeDeadline)) != _stopped.Task)
        {
            await _abandon.CancelAsync();
            // A file write cannot be cancelled; a hung disk must not hang shutdown with it.
            if (await Task.WhenAny(_stopped.Task, Task.Delay(AbandonGrace)) != _stopped.Task)
            {
                _logger.LogError("The audit target {AuditTarget} did not finish its last write in time; lines still queued are lost", _description);
                return;
            }
        }

        List<PendingLine> unwritten;
        lock (_gate)
        {
            unwritten = [.. _queue];
            _queue.Clear();
            Interlocked.Exchange(ref _queuedLines, 0);
            Interlocked.Exchange(ref _queuedBytes, 0);
        }
        if (unwritten.Count > 0)
        {
            _logger.LogError("{LineCount} audit lines could not be written to {AuditTarget} before shutdown", unwritten.Count, _description);
            foreach (var line in unwritten)
                line.Waiter?.TrySetException(new AuditTargetException($"The audit target {_description} was closed before the line could be written."));
        }

        try
        {
            await _sink.DisposeAsync();
        }
        catch (Exception exception)
        {
            _logger.LogError(exception, "The audit target {AuditTarget} could not be closed cleanly: {Reason}", _description, exception.Message);
        }
        _abandonRegistration.Dispose();
        _abandon.Dispose();
    }

    void Run()
    {
        try
        {
            Loop();
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    void Loop()
    {
        var backoff = TimeSpan.Zero;
        var retryAt = 0L;
        long? flushAt = null;

        while (true)
        {
            List<PendingLine>? batch = null;
            var attempted = 0;
            lock (_gate)
            {
                while (true)
                {
                    if (_abandon.IsCancellationRequested)
                        return;
                    var now = Stopwatch.GetTimestamp();
                    var backingOff = backoff > TimeSpan.Zero && now < retryAt;
                    if (_queue.Count > 0 && (!backingOff || _urgent))
                    {
                        batch = TakeBatch();
                        attempted = _queue.Count;
                        _urgent = false;
                        break;
                    }
                    if (flushAt is { } due && !backingOff && (now >= due || _stopping))
                        break;
                    if (_queue.Count == 0 && flushAt is null && _stopping)
                        return;

                    var until = backingOff ? retryAt : flushAt ?? long.MaxValue;
                    if (until == long.MaxValue)
                        Monitor.Wait(_gate);
                    else
                        Monitor.Wait(_gate, Stopwatch.GetElapsedTime(now, Math.Max(now, until)));
                }
            }

            Exception? failure;
            if (batch is not null)
            {
                var durable = batch.Exists(l => l.Blocking);
                failure = Attempt(() => _sink.WriteBatchAsync([.. batch.Select(l => l.Line)], durable, _abandon.Token));
                if (failure is null)
                {
                    _writtenLines += batch.Count;
                    if (durable)
                        Interlocked.Exchange(ref _durableLines, _writtenLines);
                    Succeeded(batch.Count);
                    backoff = TimeSpan.Zero;
                    flushAt = durable ? null : flushAt ?? Stopwatch.GetTimestamp() + Ticks(LazyFlushDelay);
                    continue;
                }
                Failed(failure, attempted);
            }
            else
            {
                failure = Attempt(() => _sink.FlushAsync(_abandon.Token));
                if (failure is null)
                {
                    flushAt = null;
                    Interlocked.Exchange(ref _durableLines, _writtenLines);
                    Succeeded(0);
                    continue;
                }
                // The lines are already out of the queue; all that can be done is to try the fsync again.
                Failed(failure, 0);
            }
            backoff = NextBackoff(backoff);
            retryAt = Stopwatch.GetTimestamp() + Ticks(backoff);
        }
    }

    static long Ticks(TimeSpan duration) => (long)(duration.TotalSeconds * Stopwatch.Frequency);

    List<PendingLine> TakeBatch()
    {
        var batch = new List<PendingLine>();
        var bytes = 0L;
        foreach (var line in _queue)
        {
            if (batch.Count > 0 && (batch.Count >= _sink.MaxBatchLines || bytes + line.Line.Length + 1 > _sink.MaxBatchBytes))
                break;
            batch.Add(line);
            bytes += line.Line.Length + 1;
        }
        return batch;
    }

    // The loop has a thread of its own, so waiting here holds up no one else's work; a file write or fsync on a
    // pool thread would also stall the continuations queued behind it, and with them the next group of callers.
    Exception? Attempt(Func<Task> attempt)
    {
        var started = Stopwatch.GetTimestamp();
        Volatile.Write(ref _attemptStartedAt, started);
        try
        {
            attempt().GetAwaiter().GetResult();
            return null;
        }
        catch (Exception exception)
        {
            return exception;
        }
        finally
        {
            Volatile.Write(ref _attemptStartedAt, 0);
            var took = Stopwatch.GetElapsedTime(started);
            if (_writeTimeout is { } limit && took > limit)
                _logger.LogWarning("A write to the audit target {AuditTarget} took {Seconds:0.0} s, longer than the {Limit} s limit; audited operations were refused meanwhile", _description, took.TotalSeconds, limit.TotalSeconds);
        }
    }

    void Succeeded(int written)
    {
        List<TaskCompletionSource> waiters = [];
        lock (_gate)
        {
            var bytes = 0L;
            for (var i = 0; i < written; i++)
            {
                if (_queue[i].Waiter is { } waiter)
                    waiters.Add(waiter);
                bytes += _queue[i].Line.Length + 1;
            }
            _queue.RemoveRange(0, written);
            Interlocked.Add(ref _queuedLines, -written);
            Interlocked.Add(ref _queuedBytes, -bytes);
        }

        if (_state == AuditTargetState.Unavailable)
        {
            _state = AuditTargetState.Available;
            _logger.LogInformation("The audit target {AuditTarget} is available again after {FailedAttempts} failed attempts", _description, _failedAttempts);
        }
        _failedAttempts = 0;

        foreach (var waiter in waiters)
            waiter.TrySetResult();
    }

    void Failed(Exception failure, int attempted)
    {
        var reason = failure is OperationCanceledException && _abandon.IsCancellationRequested
            ? "the audit target was closed before the write finished"
            : failure.Message;

        // Every blocking line that was queued when the attempt began is behind the lines that failed, so none of
        // them can become durable now. Lines queued during the attempt get an attempt of their own.
        List<TaskCompletionSource> waiters = [];
        lock (_gate)
        {
            for (var i = 0; i < attempted && i < _queue.Count; i++)
            {
                if (_queue[i].Waiter is { } waiter)
                {
                    waiters.Add(waiter);
                    _queue[i].Waiter = null;
                }
            }
        }

        _failedAttempts++;
        if (_state == AuditTargetState.Available)
        {
            _state = AuditTargetState.Unavailable;
            _logger.LogWarning(failure, "The audit target {AuditTarget} is unavailable, so audited operations will be refused until it recovers: {Reason}", _description, reason);
        }

        foreach (var waiter in waiters)
            waiter.TrySetException(new AuditTargetException($"The audit line could not be made durable in {_description}: {reason}", failure));
    }

    TimeSpan NextBackoff(TimeSpan current) =>
        current <= TimeSpan.Zero ? _initialBackoff : TimeSpan.FromTicks(Math.Min(current.Ticks * 2, Math.Max(MaximumBackoff.Ticks, _initialBackoff.Ticks)));

    sealed class PendingLine(byte[] line, bool blocking)
    {
        public byte[] Line { get; } = line;

        public bool Blocking { get; } = blocking;

        // Cleared once faulted: the line stays queued for a later write, but its caller has already been told.
        public TaskCompletionSource? Waiter { get; set; } = blocking ? new(TaskCreationOptions.RunContinuationsAsynchronously) : null;
    }
}

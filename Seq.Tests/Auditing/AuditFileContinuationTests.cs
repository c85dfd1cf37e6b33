using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Credentials;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// The file target after a failed fsync (ADR 0009), in this process: strace attaches to the target's own writer
/// thread only and makes the fsyncs of the named audit files fail, so the rest of the test host runs untraced.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AuditFileContinuationTests : IDisposable
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    readonly string _root = TestDirectories.NewPath("continue");
    readonly SecretKey _key = SecretKey.Generate();
    readonly RecordingLogger<FileAuditTarget> _log = new();

    string AuditDirectory => Path.Combine(_root, "audit");

    static AuditEntry Entry(AuditEventKind kind, int number) =>
        new("Test", "Continue", kind, Guid.NewGuid(), "Event {Number}", [new("Number", number)]);

    static Task WriteAsync(AuditLog log, AuditEventKind kind, int number) =>
        log.WriteAsync(Entry(kind, number), Principal.Anonymous, null, CancellationToken.None);

    /// <summary>A file target, its log, and the writer thread(s) that appeared with it.</summary>
    async Task<(FileAuditTarget Target, AuditLog Log, IReadOnlyList<int> Writers)> StartAsync(AuditSession session, TimeProvider? clock = null, FileAuditTargetOptions? options = null)
    {
        var before = WriterThreads().ToHashSet();
        var target = new FileAuditTarget(AuditDirectory, session.Id, clock ?? TimeProvider.System, _log, options);
        var log = new AuditLog(target, session, _key, clock ?? TimeProvider.System);
        List<int> writers = [];
        await Poll.UntilAsync(() => (writers = [.. WriterThreads().Where(tid => !before.Contains(tid))]).Count > 0, Patience, "the audit writer thread");
        return (target, log, writers);
    }

    static IEnumerable<int> WriterThreads()
    {
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            string name;
            try
            {
                name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
            }
            catch (IOException)
            {
                continue; // the thread ended meanwhile
            }
            if (name == "Audit writer")
                yield return int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
        }
    }

    static List<JsonElement> Parse(string path) =>
        [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    static string ChainOf(JsonElement line) => line.GetProperty(AuditLog.ChainProperty).GetString()!;

    static void ShouldLink(JsonElement link, AuditSession session, string from, JsonElement durable)
    {
        var after = durable.GetProperty("SequenceNumber").GetInt64();
        link.TryGetProperty("SequenceNumber", out _).ShouldBeFalse("the link takes no sequence number");
        link.TryGetProperty(AuditLog.ChainProperty, out _).ShouldBeFalse();
        link.GetProperty("AuditSession").GetString().ShouldBe(session.Id);
        link.GetProperty(AuditChainVerifier.ContinuesFromProperty).GetString().ShouldBe(Path.GetFileName(from));
        link.GetProperty(AuditChainVerifier.ContinuesAfterProperty).GetInt64().ShouldBe(after);
        link.GetProperty(AuditChainVerifier.ContinuesFromChainProperty).GetString().ShouldBe(ChainOf(durable));
        link.GetProperty("@l").GetString().ShouldBe("Warning");
        link.GetProperty("@mt").GetString().ShouldBe("Audit session {AuditSession} continues from {ContinuesFrom} after sequence number {ContinuesAfter}");
        link.GetProperty("Reason").GetString().ShouldBe("An fsync of the previous file failed, so that file is not trusted after the line named here.");
        var written = DateTimeOffset.Parse(link.GetProperty("@t").GetString()!, CultureInfo.InvariantCulture);
        written.Offset.ShouldBe(TimeSpan.Zero);
        written.ShouldBeInRange(DateTimeOffset.Parse(durable.GetProperty("@t").GetString()!, CultureInfo.InvariantCulture), DateTimeOffset.UtcNow);
        link.GetProperty("@m").GetString().ShouldBe($"Audit session \"{session.Id}\" continues from \"{Path.GetFileName(from)}\" after sequence number {after}");
        link.GetProperty("@i").GetString().ShouldBe(AuditLog.EventTypeOf(link.GetProperty("@mt").GetString()!));
    }

    AuditChainVerification VerifyFiles(params string[] paths) =>
        AuditChainVerifier.VerifySession([.. paths.Select(path => new AuditFileLines(Path.GetFileName(path), File.ReadAllLines(path)))], _key);

    static string NextFile(string first, int generation) =>
        first.Replace(".ndjson", $"-{generation}.ndjson", StringComparison.Ordinal);

    [Fact]
    public async Task Lines_not_yet_fsynced_when_a_lazy_fsync_fails_are_written_again_after_a_link_to_the_last_durable_line_in_the_next_file()
    {
        var session = AuditSession.Start();
        var (target, log, writers) = await StartAsync(session);
        string first, second, third;
        await using (log)
        {
            await WriteAsync(log, AuditEventKind.Record, 1);
            await WriteAsync(log, AuditEventKind.Record, 2);
            first = target.FilePath!;
            second = NextFile(first, 2);
            third = NextFile(first, 3);
            var flushes = target.DurableFlushCount;

            await using (var fault = await FsyncFault.AttachAsync(writers, [first], Path.Combine(_root, "lazy.trace")))
            {
                await WriteAsync(log, AuditEventKind.Advise, 3);
                await WriteAsync(log, AuditEventKind.Advise, 4);
                target.QueuedLines.ShouldBeGreaterThan(0);
                // The lazy fsync of the first file fails; the retry starts the second file, which is not faulted.
                await Poll.UntilAsync(() => target.FilePath == second && target.QueuedLines == 0, Patience, "the second file");
                fault.Injected.ShouldBeGreaterThanOrEqualTo(1);
            }
            target.DurableLines.ShouldBe(4);
            target.QueuedBytes.ShouldBe(0);
            target.DurableFlushCount.ShouldBeGreaterThan(flushes);
            log.DurableHead.Sequence.ShouldBe(4);
            target.State.ShouldBe(AuditTargetState.Available);
            target.Problem.ShouldBeNull();
            _log.Warnings.ShouldBe(1, "the outage is reported once");

            // Lines 3 and 4 were made durable in the second file: a failure there continues after 4, not after 2.
            await using (var fault = await FsyncFault.AttachAsync(writers, [second], Path.Combine(_root, "blocking.trace")))
            {
                var refused = await Should.ThrowAsync<AuditUnavailableException>(() => WriteAsync(log, AuditEventKind.Record, 5));
                refused.InnerException.ShouldBeOfType<AuditTargetException>().Message.ShouldContain("the audit session continues in a new file");
                await Poll.UntilAsync(() => target.FilePath == third && target.QueuedLines == 0, Patience, "the third file");
                fault.Injected.ShouldBe(1);
            }
            await WriteAsync(log, AuditEventKind.Record, 6);
            log.DurableHead.Sequence.ShouldBe(6);
        }

        Directory.GetFiles(AuditDirectory).Order(StringComparer.Ordinal).ShouldBe(new[] { first, second, third }.Order(StringComparer.Ordinal));
        var one = Parse(first);
        one.Select(e => e.GetProperty("Number").GetInt32()).ShouldBe([1, 2, 3, 4], "written before the fsync failed, never trusted");
        var two = Parse(second);
        ShouldLink(two[0], session, first, one[1]);
        two.Skip(1).Select(e => e.GetProperty("Number").GetInt32()).ShouldBe([3, 4, 5]);
        var three = Parse(third);
        ShouldLink(three[0], session, second, two[2]);
        three.Skip(1).Select(e => e.GetProperty("Number").GetInt32()).ShouldBe([5, 6]);
        foreach (var file in new[] { second, third })
            File.GetUnixFileMode(file).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);

        VerifyFiles(first, second, third).ShouldBe(new AuditChainVerification(true, 6, null));
    }

    [Fact]
    public async Task A_next_file_whose_own_fsync_fails_is_removed_and_made_again_under_the_same_name_once_the_disk_recovers()
    {
        var session = AuditSession.Start();
        var (target, log, writers) = await StartAsync(session);
        string first, second;
        await using (log)
        {
            await WriteAsync(log, AuditEventKind.Record, 1);
            first = target.FilePath!;
            second = NextFile(first, 2);

            await using (var fault = await FsyncFault.AttachAsync(writers, [first, second], Path.Combine(_root, "both.trace")))
            {
                await Should.ThrowAsync<AuditUnavailableException>(() => WriteAsync(log, AuditEventKind.Record, 2));
                await Poll.UntilAsync(() => fault.Injected >= 3, Patience, "two failed attempts at the second file");
                target.State.ShouldBe(AuditTargetState.Unavailable);
                target.Problem.ShouldNotBeNull().ShouldContain("last write to the audit target failed");
                target.FilePath.ShouldBe(first, "the second file never became the current one");
                target.QueuedLines.ShouldBe(1);
                target.DurableLines.ShouldBe(1);
                await Should.ThrowAsync<AuditUnavailableException>(() => WriteAsync(log, AuditEventKind.Record, 3));
            }
            await Poll.UntilAsync(() => target.QueuedLines == 0, Patience, "the queued lines after the disk recovered");
            target.FilePath.ShouldBe(second);
            target.State.ShouldBe(AuditTargetState.Available);
            await WriteAsync(log, AuditEventKind.Record, 4);
        }

        Directory.GetFiles(AuditDirectory).Order(StringComparer.Ordinal).ShouldBe(new[] { first, second }.Order(StringComparer.Ordinal), "names stay consecutive");
        var one = Parse(first);
        one.Select(e => e.GetProperty("Number").GetInt32()).ShouldBe([1, 2]);
        var two = Parse(second);
        ShouldLink(two[0], session, first, one[0]);
        two.Skip(1).Select(e => e.GetProperty("Number").GetInt32()).ShouldBe([2, 3, 4], "each line once, in its place");
        VerifyFiles(first, second).ShouldBe(new AuditChainVerification(true, 4, null));
    }

    [Fact]
    public async Task A_failed_fsync_before_any_line_was_durable_continues_from_the_start_of_the_session()
    {
        var session = AuditSession.Start();
        var clock = new ManualClock();
        var (target, log, writers) = await StartAsync(session, clock);
        var first = Path.Combine(AuditDirectory, FileAuditTarget.FileNameFor(session.Id, clock.GetUtcNow()));
        var second = NextFile(first, 2);
        await using (log)
        {
            await using (var fault = await FsyncFault.AttachAsync(writers, [first], Path.Combine(_root, "start.trace")))
            {
                await Should.ThrowAsync<AuditUnavailableException>(() => WriteAsync(log, AuditEventKind.Record, 1));
                await Poll.UntilAsync(() => target.FilePath == second && target.QueuedLines == 0, Patience, "the second file");
                fault.Injected.ShouldBe(1);
            }
            log.DurableHead.ShouldBe((1, ChainOf(Parse(second)[1])));
            await WriteAsync(log, AuditEventKind.Record, 2);
        }

        Parse(first).Select(e => e.GetProperty("Number").GetInt32()).ShouldBe([1]);
        var two = Parse(second);
        var link = two[0];
        link.GetProperty(AuditChainVerifier.ContinuesFromProperty).GetString().ShouldBe(Path.GetFileName(first));
        link.GetProperty(AuditChainVerifier.ContinuesAfterProperty).GetInt64().ShouldBe(0);
        link.GetProperty(AuditChainVerifier.ContinuesFromChainProperty).ValueKind.ShouldBe(JsonValueKind.Null);
        link.GetProperty("@m").GetString()!.ShouldEndWith("after sequence number 0");
        two.Skip(1).Select(e => e.GetProperty("Number").GetInt32()).ShouldBe([1, 2]);
        VerifyFiles(first, second).ShouldBe(new AuditChainVerification(true, 2, null));
    }

    [Fact]
    public async Task A_hung_fsync_faults_a_blocking_line_at_the_write_limit_reports_the_stall_and_the_line_keeps_its_place()
    {
        var session = AuditSession.Start();
        var (target, log, writers) = await StartAsync(session, options: new FileAuditTargetOptions(TimeSpan.FromSeconds(1), 0));
        string file;
        await using (log)
        {
            // Not blocking, so that a slow machine cannot fault it at the write limit: the lazy fsync makes it durable.
            await WriteAsync(log, AuditEventKind.Advise, 1);
            await Poll.UntilAsync(() => target.DurableLines == 1, Patience, "the lazy fsync of the first line");
            file = target.FilePath!;
            await using (var fault = await FsyncFault.AttachAsync(writers, [file], Path.Combine(_root, "hang.trace"), "delay_enter=8s"))
            {
                var clock = Stopwatch.StartNew();
                var refused = await Should.ThrowAsync<AuditUnavailableException>(() => WriteAsync(log, AuditEventKind.Record, 2));
                clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(6), "the write limit, not the hung fsync, decides");
                refused.InnerException.ShouldBeOfType<AuditTargetException>().Message.ShouldBe(
                    $"The audit line was not durable in {target.Description} within 1 s; it stays queued and is written in its place once the target recovers.");
                // The attempt began a little after the line was queued; it counts as stalled once it has run 1 s itself.
                await Poll.UntilAsync(() => target.State == AuditTargetState.Unavailable, Patience, "the stall to show");
                target.Problem.ShouldBe("A write to the audit target has taken longer than 1 s; audited operations are refused until it finishes.");
                target.DurableLines.ShouldBe(1);
                await Poll.UntilAsync(() => target.DurableLines == 2, Patience, "the hung fsync to finish");
            }
            target.State.ShouldBe(AuditTargetState.Available);
            target.Problem.ShouldBeNull();
            _log.Entries.ShouldContain(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.Contains("longer than the 1 s limit", StringComparison.Ordinal));
            await WriteAsync(log, AuditEventKind.Advise, 3);
        }

        Directory.GetFiles(AuditDirectory).ShouldBe([file]);
        Parse(file).Select(e => e.GetProperty("Number").GetInt32()).ShouldBe([1, 2, 3]);
    }

    /// <summary>A file target whose writer thread saw the lazy fsync and every next file fail: lines 2 and 3 are only in memory.</summary>
    async Task<(FileAuditTarget Target, AuditLog Log, string First, string Second)> StrandTwoLinesAsync(AuditSession session, string traceName, Func<Task> beforeClosing)
    {
        var (target, log, writers) = await StartAsync(session);
        await WriteAsync(log, AuditEventKind.Record, 1);
        var first = target.FilePath!;
        var second = NextFile(first, 2);
        await using (var fault = await FsyncFault.AttachAsync(writers, [first, second], Path.Combine(_root, "trace", traceName)))
        {
            await WriteAsync(log, AuditEventKind.Advise, 2);
            await WriteAsync(log, AuditEventKind.Advise, 3);
            await Poll.UntilAsync(() => fault.Injected >= 2, Patience, "the lazy fsync and the next file's fsync to fail");
            File.Exists(second).ShouldBeFalse("a next file that failed is removed");
            await beforeClosing();
            // The writer retries until its deadline and ends; the sink's last try is made on another thread, which
            // strace does not fail (as a disk that recovered by then would not).
            await target.DisposeAsync().AsTask().WaitAsync(Patience);
        }
        return (target, log, first, second);
    }

    [Fact]
    public async Task Lines_a_failed_fsync_left_only_in_memory_go_to_a_next_file_when_the_target_closes()
    {
        var session = AuditSession.Start();
        var (_, log, first, second) = await StrandTwoLinesAsync(session, "closing.trace", () => Task.CompletedTask);
        await log.DisposeAsync();

        _log.Entries.ShouldNotContain(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error, _log.Text);
        var one = Parse(first);
        var two = Parse(second);
        ShouldLink(two[0], session, first, one[0]);
        two.Skip(1).Select(e => e.GetProperty("Number").GetInt32()).ShouldBe([2, 3]);
        VerifyFiles(first, second).ShouldBe(new AuditChainVerification(true, 3, null));
    }

    [Fact]
    public async Task Lines_a_failed_fsync_left_only_in_memory_that_no_file_can_take_when_the_target_closes_are_reported_lost_with_their_count()
    {
        var session = AuditSession.Start();
        var moved = AuditDirectory + ".moved";
        var (_, log, _, second) = await StrandTwoLinesAsync(session, "lost.trace", () =>
        {
            // Where the audit directory was, a file: no next file can be made there.
            Directory.Move(AuditDirectory, moved);
            File.WriteAllText(AuditDirectory, "");
            return Task.CompletedTask;
        });
        await log.DisposeAsync();

        _log.Entries.ShouldContain(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error
            && e.Message.Contains($"The audit target file {AuditDirectory} could not be closed cleanly: 2 audit lines written before a failed fsync could not be written to a new file before shutdown and are lost: ", StringComparison.Ordinal),
            _log.Text);
        Directory.GetFiles(moved).ShouldBe([Path.Combine(moved, Path.GetFileName(second)).Replace("-2.ndjson", ".ndjson", StringComparison.Ordinal)]);
    }

    [Fact]
    public async Task A_new_audit_directory_and_its_first_file_are_made_durable_in_their_parents_before_the_first_blocking_line_returns()
    {
        Directory.CreateDirectory(_root);
        var session = AuditSession.Start();
        var (target, log, writers) = await StartAsync(session);
        IReadOnlyList<string> calls;
        string file;
        await using (log)
        {
            var trace = await FsyncFault.TraceAsync(writers, Path.Combine(_root, "trace", "create.trace"));
            try
            {
                await WriteAsync(log, AuditEventKind.Record, 1);
                file = target.FilePath!;
            }
            finally
            {
                await trace.DisposeAsync();
            }
            calls = trace.Calls;
        }

        // With -y strace names each descriptor's path: "fsync(7</tmp/…/audit>) = 0".
        int IndexOf(string call, string path) => calls.ToList().FindIndex(c => c.StartsWith(call + "(", StringComparison.Ordinal) && c.Contains($"<{path}>) = 0", StringComparison.Ordinal));
        var root = IndexOf("fsync", _root);
        var directory = IndexOf("fsync", AuditDirectory);
        var line = IndexOf("fdatasync", file);
        root.ShouldBeGreaterThanOrEqualTo(0, "the new audit directory's name is made durable in its parent: " + string.Join('\n', calls));
        directory.ShouldBeGreaterThan(root, "the new file's name is made durable in the audit directory, after the directory itself: " + string.Join('\n', calls));
        line.ShouldBeGreaterThan(directory, "and both before the blocking line is: " + string.Join('\n', calls));
    }

    [Fact]
    public async Task Lines_written_but_not_yet_fsynced_count_in_the_queue_with_their_bytes_and_line_breaks_until_an_fsync_covers_them()
    {
        var session = AuditSession.Start();
        var (target, log, writers) = await StartAsync(session);
        await using (log)
        {
            await WriteAsync(log, AuditEventKind.Record, 1);
            var file = target.FilePath!;
            var durableLength = new FileInfo(file).Length;
            target.QueuedLines.ShouldBe(0);
            target.QueuedBytes.ShouldBe(0);

            // The lazy fsync that would cover the next two lines is held back, so they stay written but not durable.
            await using (await FsyncFault.AttachAsync(writers, [file], Path.Combine(_root, "trace", "held.trace"), "delay_enter=5s"))
            {
                await WriteAsync(log, AuditEventKind.Advise, 2);
                await WriteAsync(log, AuditEventKind.Advise, 3);
                await Poll.UntilAsync(() => File.ReadAllLines(file).Length == 3, Patience, "the two lines written to the file");
                var written = File.ReadAllLines(file).Skip(1).Sum(l => (long)Encoding.UTF8.GetByteCount(l) + 1);
                written.ShouldBe(new FileInfo(file).Length - durableLength);
                target.QueuedLines.ShouldBe(2);
                target.QueuedBytes.ShouldBe(written);
                await Poll.UntilAsync(() => target.QueuedLines == 0, Patience, "the held fsync to cover them");
            }
            target.QueuedBytes.ShouldBe(0);
            target.DurableLines.ShouldBe(3);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    /// <summary>strace on the given threads of this process, failing (EIO) or delaying every fsync and fdatasync of the given files until disposed.</summary>
    sealed class FsyncFault : IAsyncDisposable
    {
        readonly Process _strace;
        readonly IReadOnlyList<int> _threads;
        readonly string _trace;

        FsyncFault(Process strace, IReadOnlyList<int> threads, string trace)
        {
            _strace = strace;
            _threads = threads;
            _trace = trace;
        }

        /// <summary>How many fsyncs were made to fail so far.</summary>
        public int Injected => File.Exists(_trace)
            ? ReadShared(_trace).Split('\n').Count(l => l.Contains("(INJECTED)", StringComparison.Ordinal))
            : 0;

        static string ReadShared(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }

        public static Task<FsyncFault> AttachAsync(IReadOnlyList<int> threads, IReadOnlyList<string> paths, string trace, string injection = "error=EIO") =>
            StartAsync(threads, trace, ["-e", "trace=fsync,fdatasync", "-e", "inject=fsync,fdatasync:" + injection, .. paths.SelectMany(path => new[] { "-P", path })]);

        /// <summary>Only records, with the path of each descriptor, every open, fsync and fdatasync of the threads.</summary>
        public static Task<FsyncFault> TraceAsync(IReadOnlyList<int> threads, string trace) =>
            StartAsync(threads, trace, ["-y", "-e", "trace=openat,fsync,fdatasync"]);

        /// <summary>The recorded calls, complete once disposed.</summary>
        public IReadOnlyList<string> Calls => File.Exists(_trace) ? ReadShared(_trace).Split('\n', StringSplitOptions.RemoveEmptyEntries) : [];

        static async Task<FsyncFault> StartAsync(IReadOnlyList<int> threads, string trace, IEnumerable<string> arguments)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(trace)!);
            var start = new ProcessStartInfo("strace") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var argument in new[] { "-qq", "-o", trace }.Concat(arguments))
                start.ArgumentList.Add(argument);
            foreach (var thread in threads)
            {
                start.ArgumentList.Add("-p");
                start.ArgumentList.Add(thread.ToString(CultureInfo.InvariantCulture));
            }
            var strace = Process.Start(start)!;
            var fault = new FsyncFault(strace, threads, trace);
            var deadline = DateTime.UtcNow + Patience;
            while (!fault._threads.All(thread => TracerOf(thread) == strace.Id))
            {
                if (strace.HasExited)
                    throw new InvalidOperationException($"strace could not attach: {await strace.StandardError.ReadToEndAsync()}");
                DateTime.UtcNow.ShouldBeLessThan(deadline, "strace did not attach to the writer thread in time");
                await Task.Delay(10);
            }
            return fault;
        }

        static int TracerOf(int thread)
        {
            try
            {
                var line = File.ReadLines($"/proc/self/task/{thread}/status").First(l => l.StartsWith("TracerPid:", StringComparison.Ordinal));
                return int.Parse(line["TracerPid:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return 0;
            }
        }

        public async ValueTask DisposeAsync()
        {
            // SIGTERM makes strace detach cleanly; the thread then runs on untraced, as after a disk recovers.
            if (!_strace.HasExited)
                Process.Start("kill", ["-TERM", _strace.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            using var timeout = new CancellationTokenSource(Patience);
            await _strace.WaitForExitAsync(timeout.Token);
            var deadline = DateTime.UtcNow + Patience;
            while (_threads.Any(thread => TracerOf(thread) != 0))
            {
                DateTime.UtcNow.ShouldBeLessThan(deadline, "strace did not detach in time");
                await Task.Delay(10);
            }
            _strace.Dispose();
        }
    }
}

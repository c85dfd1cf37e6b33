using Seq.Tests.Support;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Seq.Infrastructure.Auditing;
using Seq.Tests.Credentials;

namespace Seq.Tests.Auditing;

public sealed class FileAuditTargetTests : IDisposable
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    readonly string _root = TestDirectories.NewPath("audit");
    readonly string _session = "S" + Guid.NewGuid().ToString("N")[..19];
    readonly RecordingLogger<FileAuditTarget> _log = new();

    static byte[] Line(int counter) => Encoding.UTF8.GetBytes($"{{\"Counter\":{counter}}}");

    static int CounterOf(string line) => int.Parse(Regex.Match(line, "\"Counter\":(\\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    FileAuditTarget NewTarget(string directory, TimeProvider? clock = null) => new(directory, _session, clock ?? TimeProvider.System, _log);

    static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    static IReadOnlyList<int> CountersIn(string path) =>
        [.. ReadShared(path).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(CounterOf)];

    [Fact]
    public async Task A_blocking_line_is_in_the_file_when_its_task_completes()
    {
        var directory = Path.Combine(_root, "audit");
        await using var target = NewTarget(directory);

        await target.Enqueue(Line(1), blocking: true);

        target.FilePath.ShouldNotBeNull();
        ReadShared(target.FilePath).ShouldBe("{\"Counter\":1}\n");
        target.DurableFlushCount.ShouldBeGreaterThanOrEqualTo(1);
        target.State.ShouldBe(AuditTargetState.Available);
    }

    [Fact]
    public async Task The_file_is_named_for_its_creation_date_and_session_in_a_directory_that_is_created_when_missing()
    {
        var directory = Path.Combine(_root, "nested", "audit");
        var clock = new ManualClock(new DateTimeOffset(2031, 7, 9, 23, 59, 0, TimeSpan.FromHours(-5)));
        await using var target = NewTarget(directory, clock);
        target.FilePath.ShouldBeNull();
        target.Description.ShouldBe($"file {directory}");

        await target.Enqueue(Line(1), blocking: true);

        Directory.Exists(directory).ShouldBeTrue();
        target.FilePath.ShouldBe(Path.Combine(directory, $"seq-audit-20310710-{_session}.ndjson"));
        Directory.GetFiles(directory).ShouldBe([target.FilePath!]);
    }

    [Fact]
    public async Task Lines_come_out_in_enqueue_order_under_concurrent_blocking_and_non_blocking_writers()
    {
        var target = NewTarget(Path.Combine(_root, "audit"));
        var order = new object();
        var counter = 0;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var writers = Enumerable.Range(0, 64).Select(async writer =>
        {
            await start.Task;
            for (var i = 0; i < 20; i++)
            {
                Task written;
                lock (order)
                {
                    var next = ++counter;
                    written = target.Enqueue(Line(next), blocking: next % 3 != 0);
                }
                await written;
            }
        }).ToList();
        start.SetResult();
        await Task.WhenAll(writers).WaitAsync(Patience);
        await target.DisposeAsync();

        CountersIn(target.FilePath!).ShouldBe(Enumerable.Range(1, 64 * 20));
    }

    [Fact]
    public async Task Concurrent_blocking_writers_share_fsyncs()
    {
        await using var target = NewTarget(Path.Combine(_root, "audit"));
        await target.Enqueue(Line(0), blocking: true);
        var before = target.DurableFlushCount;
        var order = new object();
        var counter = 0;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var writers = Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            await start.Task;
            Task written;
            lock (order)
                written = target.Enqueue(Line(++counter), blocking: true);
            await written;
        })).ToList();
        start.SetResult();
        await Task.WhenAll(writers).WaitAsync(Patience);

        var fsyncs = target.DurableFlushCount - before;
        fsyncs.ShouldBeLessThanOrEqualTo(16, "64 concurrent blocking lines should be group-committed");
        CountersIn(target.FilePath!).ShouldBe(Enumerable.Range(0, 65));
    }

    [Fact]
    public async Task An_unwritable_directory_faults_blocking_lines_and_after_it_is_fixed_nothing_is_lost()
    {
        Directory.CreateDirectory(_root);
        var blocker = Path.Combine(_root, "blocker");
        await File.WriteAllTextAsync(blocker, "not a directory");
        var directory = Path.Combine(blocker, "audit");
        await using var target = NewTarget(directory);

        var failure = await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(1), blocking: true).WaitAsync(Patience));
        failure.InnerException.ShouldBeAssignableTo<IOException>();
        target.State.ShouldBe(AuditTargetState.Unavailable);
        await target.Enqueue(Line(2), blocking: false);
        await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(3), blocking: true).WaitAsync(Patience));
        target.FilePath.ShouldBeNull();

        File.Delete(blocker);
        Directory.CreateDirectory(blocker);
        await target.Enqueue(Line(4), blocking: true);

        target.State.ShouldBe(AuditTargetState.Available);
        CountersIn(target.FilePath!).ShouldBe([1, 2, 3, 4]);
        _log.Warnings.ShouldBe(1, "an outage is reported once");
        _log.Text.ShouldNotContain("Counter");
    }

    [Fact]
    public async Task A_failing_write_faults_and_the_retry_after_recovery_writes_each_line_once()
    {
        var directory = Path.Combine(_root, "audit");
        Directory.CreateDirectory(directory);
        var clock = new ManualClock();
        var path = Path.Combine(directory, FileAuditTarget.FileNameFor(_session, clock.GetUtcNow()));
        File.CreateSymbolicLink(path, "/dev/full");
        await using var target = NewTarget(directory, clock);

        var failure = await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(1), blocking: true).WaitAsync(Patience));
        failure.InnerException.ShouldBeAssignableTo<IOException>();
        target.State.ShouldBe(AuditTargetState.Unavailable);
        await target.Enqueue(Line(2), blocking: false);
        await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(3), blocking: true).WaitAsync(Patience));

        File.Delete(path);
        await target.Enqueue(Line(4), blocking: true);

        target.FilePath.ShouldBe(path);
        new FileInfo(path).LinkTarget.ShouldBeNull();
        CountersIn(path).ShouldBe([1, 2, 3, 4]);
        target.State.ShouldBe(AuditTargetState.Available);
    }

    [Fact]
    public async Task A_write_cut_short_by_a_full_disk_is_truncated_so_the_retry_does_not_duplicate_part_of_it()
    {
        // A real short write needs a small file system. Only root may mount one; as root (as on CI) a failed mount
        // fails the test rather than letting it pass without having observed anything.
        var mount = Path.Combine(_root, "small");
        if (Environment.UserName != "root")
            return;
        TryMountSmallFileSystem(mount).ShouldBeTrue("mounting a 1 MB tmpfs as root");
        try
        {
            var filler = Path.Combine(mount, "filler");
            await File.WriteAllBytesAsync(filler, new byte[600 * 1024]);
            var big = Encoding.UTF8.GetBytes("{\"Counter\":1,\"Pad\":\"" + new string('x', 700 * 1024) + "\"}");
            await using (var target = NewTarget(Path.Combine(mount, "audit")))
            {
                await target.Enqueue(Line(0), blocking: true);

                await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(big, blocking: true).WaitAsync(Patience));
                new FileInfo(target.FilePath!).Length.ShouldBe(Line(0).Length + 1, "the part of the batch that fitted is cut back");

                File.Delete(filler);
                await target.Enqueue(Line(2), blocking: true);

                var lines = ReadShared(target.FilePath!).Split('\n');
                lines.ShouldBe([Encoding.UTF8.GetString(Line(0)), Encoding.UTF8.GetString(big), Encoding.UTF8.GetString(Line(2)), ""]);
            }
        }
        finally
        {
            Unmount(mount);
        }
    }

    [Fact]
    public async Task Non_blocking_lines_are_written_in_place_and_flushed_at_dispose()
    {
        var target = NewTarget(Path.Combine(_root, "audit"));
        for (var i = 1; i <= 100; i++)
            target.Enqueue(Line(i), blocking: false).IsCompletedSuccessfully.ShouldBeTrue();

        await target.DisposeAsync();

        CountersIn(target.FilePath!).ShouldBe(Enumerable.Range(1, 100));
        target.DurableFlushCount.ShouldBeGreaterThanOrEqualTo(1);
        await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(101), blocking: false).WaitAsync(Patience));
    }

    [Fact]
    public async Task Non_blocking_lines_are_fsynced_within_about_a_second_without_a_blocking_line()
    {
        await using var target = NewTarget(Path.Combine(_root, "audit"));

        await target.Enqueue(Line(1), blocking: false);

        await Poll.UntilAsync(() => target.DurableFlushCount >= 1, Patience, "the lazy fsync");
        CountersIn(target.FilePath!).ShouldBe([1]);
    }

    [Fact]
    public async Task A_line_with_a_line_break_is_refused_before_it_is_queued()
    {
        await using var target = NewTarget(Path.Combine(_root, "audit"));

        Should.Throw<ArgumentException>(() => target.Enqueue("{\"A\":1}\n{\"B\":2}"u8.ToArray(), blocking: false));
        await target.Enqueue(Line(1), blocking: true);

        CountersIn(target.FilePath!).ShouldBe([1]);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("has.dot")]
    [InlineData("has-dash")]
    [InlineData("has/slash")]
    public void A_session_that_cannot_be_part_of_a_file_name_is_refused(string session)
    {
        Should.Throw<ArgumentException>(() => new FileAuditTarget(Path.Combine(_root, "audit"), session, TimeProvider.System, _log));
        Directory.Exists(_root).ShouldBeFalse("nothing is created for a refused target");
    }

    [Fact]
    public async Task A_write_limit_under_10_ms_or_a_negative_reserve_is_refused_and_the_bounds_themselves_are_accepted()
    {
        var directory = Path.Combine(_root, "audit");
        Should.Throw<ArgumentOutOfRangeException>(() => new FileAuditTarget(directory, _session, TimeProvider.System, _log, new FileAuditTargetOptions(TimeSpan.FromMilliseconds(9), 0)));
        Should.Throw<ArgumentOutOfRangeException>(() => new FileAuditTarget(directory, _session, TimeProvider.System, _log, new FileAuditTargetOptions(TimeSpan.FromSeconds(1), -1)));
        Should.Throw<ArgumentException>(() => new FileAuditTarget(" ", _session, TimeProvider.System, _log));

        await using var target = new FileAuditTarget(directory, _session, TimeProvider.System, _log, new FileAuditTargetOptions(TimeSpan.FromMilliseconds(10), 0));
        target.MinimumFreeBytes.ShouldBe(0);
        target.Refusal.ShouldBeNull();
    }

    [Fact]
    public void The_default_options_allow_5_s_per_write_and_keep_64_MB_free()
    {
        FileAuditTargetOptions.Default.WriteTimeout.ShouldBe(TimeSpan.FromSeconds(5));
        FileAuditTargetOptions.Default.MinimumFreeBytes.ShouldBe(64L * 1024 * 1024);
    }

    [Fact]
    public async Task Below_the_reserve_opening_events_are_refused_with_the_free_and_the_kept_megabytes_and_the_problem_says_so_too()
    {
        var reserve = 1L << 50; // a petabyte: more than any test machine has free
        await using var target = new FileAuditTarget(Path.Combine(_root, "not", "yet", "made"), _session, TimeProvider.System, _log,
            new FileAuditTargetOptions(TimeSpan.FromSeconds(5), reserve));

        // The directory does not exist yet: the free space is that of its nearest existing parent.
        var free = target.FreeBytes().ShouldNotBeNull();
        Math.Abs(free - new DriveInfo(Path.GetDirectoryName(_root)!).AvailableFreeSpace).ShouldBeLessThan(64L * 1024 * 1024);
        // Other processes write to the same disk meanwhile, so the free figure is compared to within 64 MB.
        var refusal = Regex.Match(target.Refusal!, @"^The audit disk has (?<free>[0-9]+(\.[0-9])?) MB free, less than the 1073741824 MB that audit\.minimumFreeSpaceMB keeps in reserve\.$");
        refusal.Success.ShouldBeTrue(target.Refusal);
        double.Parse(refusal.Groups["free"].Value, System.Globalization.CultureInfo.InvariantCulture).ShouldBe(free / (1024.0 * 1024), tolerance: 64);
        target.Problem.ShouldBe(target.Refusal);
        target.State.ShouldBe(AuditTargetState.Available, "lines can still be written");
    }

    [Fact]
    public async Task With_free_space_above_the_reserve_nothing_is_refused()
    {
        await using var target = new FileAuditTarget(Path.Combine(_root, "audit"), _session, TimeProvider.System, _log, new FileAuditTargetOptions(TimeSpan.FromSeconds(5), 1));
        target.Refusal.ShouldBeNull();
        target.Problem.ShouldBeNull();
    }

    [Fact]
    public void File_names_carry_the_utc_date_the_session_and_from_the_second_file_on_its_place_and_parse_back()
    {
        var created = new DateTimeOffset(2031, 7, 9, 23, 59, 0, TimeSpan.FromHours(-5));
        FileAuditTarget.FileNameFor("Abc123", created).ShouldBe("seq-audit-20310710-Abc123.ndjson");
        FileAuditTarget.FileNameFor("Abc123", created, 2).ShouldBe("seq-audit-20310710-Abc123-2.ndjson");
        FileAuditTarget.FileNameFor("Abc123", created, 12).ShouldBe("seq-audit-20310710-Abc123-12.ndjson");

        FileAuditTarget.TryParseFileName("/var/audit/seq-audit-20310710-Abc123.ndjson", out var session, out var generation).ShouldBeTrue();
        (session, generation).ShouldBe(("Abc123", 1));
        FileAuditTarget.TryParseFileName("seq-audit-20310710-Abc123-12.ndjson", out session, out generation).ShouldBeTrue();
        (session, generation).ShouldBe(("Abc123", 12));

        foreach (var name in new[] { "seq-audit-2031071-Abc123.ndjson", "seq-audit-20310710-Abc123-0.ndjson", "seq-audit-20310710-Abc123.ndjson.bak",
                     "x-seq-audit-20310710-Abc123.ndjson", "seq-audit-20310710-Abc123-1234567890.ndjson", "seq-audit-20310710-.ndjson" })
        {
            FileAuditTarget.TryParseFileName(name, out session, out generation).ShouldBeFalse(name);
            (session, generation).ShouldBe(("", 1), name);
        }
    }

    [Fact]
    public async Task A_file_left_ending_in_half_a_line_is_continued_after_a_line_break()
    {
        var directory = Path.Combine(_root, "audit");
        Directory.CreateDirectory(directory);
        var clock = new ManualClock();
        var path = Path.Combine(directory, FileAuditTarget.FileNameFor(_session, clock.GetUtcNow()));
        await File.WriteAllTextAsync(path, "{\"Counter\":1}\n{\"Coun");

        await using (var target = NewTarget(directory, clock))
            await target.Enqueue(Line(2), blocking: true);

        ReadShared(path).ShouldBe("{\"Counter\":1}\n{\"Coun\n{\"Counter\":2}\n");
    }

    static bool TryMountSmallFileSystem(string mount)
    {
        Directory.CreateDirectory(mount);
        return Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount);
    }

    static void Unmount(string mount) => Run("umount", mount);

    static bool Run(string program, params string[] arguments)
    {
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in arguments)
                start.ArgumentList.Add(argument);
            using var process = System.Diagnostics.Process.Start(start)!;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}

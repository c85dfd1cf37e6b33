using System.Net;
using System.Net.Http.Json;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// The audit file's durability seen in the real system calls of a real seqsvr process, traced by strace with the
/// path of every descriptor (-y): counting calls to the sync method would not notice a flush that never reaches
/// the disk (issue 18, survivor 4). One server run is traced; each test reads its part of the trace.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AuditFsyncTraceTests(AuditFsyncTraceTests.TracedRun run) : IClassFixture<AuditFsyncTraceTests.TracedRun>
{
    [Fact]
    public void The_audit_directory_is_fsynced_after_the_audit_file_is_created_and_before_its_first_line_is_durable()
    {
        var created = run.IndexOf(0, l => l.Contains("openat(", StringComparison.Ordinal) && l.Contains($"\"{run.AuditFile}\"", StringComparison.Ordinal) && l.Contains("O_CREAT", StringComparison.Ordinal));
        created.ShouldBeGreaterThanOrEqualTo(0, "the trace must show the audit file being created, or it proves nothing");

        var firstFileSync = run.IndexOf(created, run.SyncsAuditFile);
        firstFileSync.ShouldBeGreaterThan(created, "the audit file must be synced once its first line is written");
        var firstDurable = run.CompletionOf(firstFileSync);

        var directorySync = run.IndexOf(created, l => IsFsyncOf(l, run.AuditDirectory));
        directorySync.ShouldBeGreaterThan(created, $"no fsync on a descriptor of {run.AuditDirectory} after the audit file was created");
        run.CompletionOf(directorySync).ShouldBeLessThan(firstDurable, "the directory must be durable before the first line counts as durable, or a crash can lose the file's name");
        run.Succeeded(directorySync).ShouldBeTrue(run.Lines[run.CompletionOf(directorySync)]);
    }

    [Fact]
    public void A_blocking_begin_line_is_fdatasynced_on_the_audit_files_descriptor_before_the_change_reaches_the_database_and_before_the_response()
    {
        var begin = run.IndexOf(0, l => IsWriteTo(l, run.AuditFile) && l.Contains(run.Marker, StringComparison.Ordinal) && l.Contains("Begin", StringComparison.Ordinal));
        begin.ShouldBeGreaterThanOrEqualTo(0, "the trace must show the Begin line of the change written to the audit file, or it proves nothing");

        var sync = run.IndexOf(begin + 1, run.SyncsAuditFile);
        sync.ShouldBeGreaterThan(begin, "no fdatasync or fsync on the audit file's descriptor after its Begin line was written");
        var durable = run.CompletionOf(sync);
        run.Succeeded(sync).ShouldBeTrue(run.Lines[durable]);

        // The change leaves for PostgreSQL on a socket, with the new title in it; the audit file's own lines do not count.
        var append = run.IndexOf(begin + 1, l => l.Contains(run.Marker, StringComparison.Ordinal) && !l.Contains(run.AuditFile, StringComparison.Ordinal) && l.Contains("socket:[", StringComparison.Ordinal));
        append.ShouldBeGreaterThan(begin, "the trace must show the change sent to PostgreSQL, or it proves nothing");
        durable.ShouldBeLessThan(append, "the Begin line must be on disk before the change is sent to the database");

        var response = run.IndexOf(begin + 1, l => l.Contains("\"HTTP/1.1 200", StringComparison.Ordinal));
        response.ShouldBeGreaterThan(begin, "the trace must show the response sent, or it proves nothing");
        durable.ShouldBeLessThan(response);
    }

    static bool IsFsyncOf(string line, string path) =>
        (line.Contains(" fsync(", StringComparison.Ordinal) || line.Contains(" fdatasync(", StringComparison.Ordinal)) && line.Contains($"<{path}>)", StringComparison.Ordinal) && !line.Contains("resumed>", StringComparison.Ordinal);

    static bool IsWriteTo(string line, string path) =>
        (line.Contains(" write(", StringComparison.Ordinal) || line.Contains(" pwrite64(", StringComparison.Ordinal) || line.Contains(" writev(", StringComparison.Ordinal) || line.Contains(" pwritev(", StringComparison.Ordinal))
        && line.Contains($"<{path}>,", StringComparison.Ordinal);

    /// <summary>seqsvr started under strace, one audited change made and the server stopped; the trace and its paths.</summary>
    public sealed class TracedRun : IAsyncLifetime
    {
        readonly string _root = TestDirectories.NewPath("fsynctrace");

        public string AuditDirectory => Path.Combine(_root, "audit");

        public string Marker { get; } = "traced-title-" + Guid.NewGuid().ToString("N")[..8];

        public string AuditFile { get; private set; } = "";

        public IReadOnlyList<string> Lines { get; private set; } = [];

        public async Task InitializeAsync()
        {
            Directory.CreateDirectory(_root);
            var trace = Path.Combine(_root, "audit.trace");
            string[] strace = ["strace", "-f", "-qq", "-y", "-s", "4096", "-o", trace, "-e", "trace=openat,fsync,fdatasync,write,pwrite64,writev,pwritev,sendto,sendmsg"];
            var environment = new Dictionary<string, string?> { ["SEQ_AUDIT_AUDITPATH"] = AuditDirectory };
            await using (var server = SeqsvrProcess.Start(Path.Combine(_root, "storage"), environment, strace))
            {
                await server.WaitUntilHealthyAsync();
                await server.LoginAsAdminAsync();
                using var changed = await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = Marker });
                changed.StatusCode.ShouldBe(HttpStatusCode.OK, await changed.Content.ReadAsStringAsync());
                await server.StopAsync();
            }

            AuditFile = Directory.GetFiles(AuditDirectory, "seq-audit-*.ndjson").ShouldHaveSingleItem();
            Lines = File.ReadAllLines(trace);
        }

        public int IndexOf(int from, Func<string, bool> predicate)
        {
            for (var i = from; i < Lines.Count; i++)
            {
                if (predicate(Lines[i]))
                    return i;
            }
            return -1;
        }

        public bool SyncsAuditFile(string line) => IsFsyncOf(line, AuditFile);

        /// <summary>The line where the call begun at <paramref name="index"/> returns: the same line, or its "resumed" line from the same thread.</summary>
        public int CompletionOf(int index)
        {
            var line = Lines[index];
            if (!line.EndsWith("<unfinished ...>", StringComparison.Ordinal))
                return index;
            var pid = line[..line.IndexOf(' ', StringComparison.Ordinal)];
            var call = line[(pid.Length + 1)..line.IndexOf('(', StringComparison.Ordinal)];
            var resumed = IndexOf(index + 1, l => l.StartsWith($"{pid} <... {call} resumed>", StringComparison.Ordinal));
            resumed.ShouldBeGreaterThan(index, $"the trace does not show {call} of line {index} returning");
            return resumed;
        }

        public bool Succeeded(int index) => Lines[CompletionOf(index)].EndsWith(") = 0", StringComparison.Ordinal);

        public Task DisposeAsync()
        {
            if (Directory.Exists(_root))
                Directory.Delete(_root, recursive: true);
            return Task.CompletedTask;
        }
    }
}

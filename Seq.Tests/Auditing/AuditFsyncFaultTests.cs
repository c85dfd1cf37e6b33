using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Seq.Infrastructure.Auditing;
using Seq.Tests.Cli;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// A real seqsvr process whose fsyncs fail or hang: strace attaches to it and injects the fault into fsync and
/// fdatasync, and detaching ends the fault, as a recovered disk would.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AuditFsyncFaultTests : IDisposable
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    readonly string _root = TestDirectories.NewPath("fsync");

    string Storage => Path.Combine(_root, "storage");
    string AuditDirectory => Path.Combine(_root, "audit");

    async Task<SeqsvrProcess> StartAsync(params (string Name, string Value)[] environment)
    {
        // Loopback is a trusted proxy so that refusals can come from addresses of their own, each recorded in full
        // rather than summarized with the others (ADR 0011).
        var variables = new Dictionary<string, string?> { ["SEQ_AUDIT_AUDITPATH"] = AuditDirectory, ["SEQ_API_TRUSTEDPROXIES"] = "127.0.0.1" };
        foreach (var (name, value) in environment)
            variables[name] = value;
        var server = SeqsvrProcess.Start(Storage, variables);
        await server.WaitUntilHealthyAsync();
        await server.LoginAsAdminAsync();
        return server;
    }

    string SecretKeyOfTheServer() => File.ReadAllText(Path.Combine(Storage, Seq.Infrastructure.Security.SecretKeyLoader.KeyFileName)).Trim();

    static Task<HttpResponseMessage> SetTitleAsync(SeqsvrProcess server, string title) =>
        server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = title });

    static async Task<string?> TitleAsync(SeqsvrProcess server) =>
        JsonDocument.Parse(await server.Client.GetStringAsync("/api/settings/setting-InstanceTitle")).RootElement.GetProperty("Value").GetString();

    static async Task<JsonElement> HealthAsync(SeqsvrProcess server) =>
        JsonDocument.Parse(await server.Client.GetStringAsync("/health")).RootElement.Clone();

    static async Task WaitUntilAuditIsAsync(SeqsvrProcess server, string state)
    {
        var deadline = DateTime.UtcNow + Patience;
        while ((await HealthAsync(server)).GetProperty("Audit").GetString() != state)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"/health did not report the audit target {state} in time");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_failed_fsync_refuses_the_operation_and_the_session_continues_in_a_new_file_that_verifies_with_the_first()
    {
        await using var server = await StartAsync();
        (await SetTitleAsync(server, "before")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var trace = Path.Combine(_root, "eio.trace");
        await using (await Strace.AttachAsync(server.ProcessId, "fsync,fdatasync:error=EIO", trace))
        {
            // Non-blocking lines leave the queue once written; when the lazy fsync after them fails, only the
            // server's memory still holds them for certain.
            using var anonymous = new HttpClient { BaseAddress = server.Client.BaseAddress };
            for (var i = 1; i <= 3; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/users/unsynced-{i}");
                request.Headers.Add("X-Forwarded-For", $"198.51.100.{i}");
                (await anonymous.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
            }
            var deadline = DateTime.UtcNow + Patience;
            while (!File.ReadAllText(trace).Contains("EIO (Input/output error) (INJECTED)", StringComparison.Ordinal))
            {
                DateTime.UtcNow.ShouldBeLessThan(deadline, "the lazy fsync after the refusals did not fail in time");
                await Task.Delay(50);
            }

            using var refused = await SetTitleAsync(server, "during");
            refused.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            (await refused.Content.ReadAsStringAsync()).ShouldContain("audit log is unavailable");
            (await TitleAsync(server)).ShouldBe("before");
            (await HealthAsync(server)).GetProperty("Audit").GetString().ShouldBe("Unavailable");
            (await SetTitleAsync(server, "still failing")).StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        }

        await WaitUntilAuditIsAsync(server, "Available");
        (await SetTitleAsync(server, "after")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await TitleAsync(server)).ShouldBe("after");
        await server.StopAsync();

        var files = Directory.GetFiles(AuditDirectory).Order(StringComparer.Ordinal).ToList();
        files.Count.ShouldBe(2, string.Join(", ", files));
        var first = files.Single(f => !f.EndsWith("-2.ndjson", StringComparison.Ordinal));
        var second = files.Single(f => f.EndsWith("-2.ndjson", StringComparison.Ordinal));
        foreach (var file in files)
            File.GetUnixFileMode(file).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var link = JsonDocument.Parse(File.ReadLines(second).First()).RootElement;
        link.GetProperty(AuditChainVerifier.ContinuesFromProperty).GetString().ShouldBe(Path.GetFileName(first));
        link.TryGetProperty("SequenceNumber", out _).ShouldBeFalse();

        // The refused operations' Begin and Abandon are in the new file, in their place, before the one that ran.
        var events = File.ReadLines(second).Skip(1).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var titles = events.Select(e => (Event: e.GetProperty("Event").GetString(), Value: e.TryGetProperty("Value", out var v) ? v.GetString() : null)).ToList();
        titles.ShouldContain(("Begin", "during"));
        var paths = events.Select(e => e.TryGetProperty("HttpRequestPath", out var p) ? p.GetString() : null).ToList();
        var unsynced = Enumerable.Range(1, 3).Select(i => paths.IndexOf($"/api/users/unsynced-{i}")).ToList();
        unsynced.ShouldAllBe(at => at >= 0, "lines written but not yet fsynced when the fsync failed are written again in the new file");
        unsynced.ShouldBeInOrder();
        unsynced[^1].ShouldBeLessThan(titles.IndexOf(("Begin", "during")));
        titles.ShouldContain(("Begin", "after"));
        titles.IndexOf(("Begin", "during")).ShouldBeLessThan(titles.IndexOf(("Begin", "after")));
        var during = events.First(e => e.TryGetProperty("Value", out var v) && v.GetString() == "during").GetProperty("OperationId").GetString();
        events.Where(e => e.GetProperty("OperationId").GetString() == during).Select(e => e.GetProperty("Event").GetString()).ShouldBe(["Begin", "Abandon"]);
        events.Select(e => e.GetProperty("SequenceNumber").GetInt64()).ShouldBe(
            Enumerable.Range(0, events.Count).Select(i => link.GetProperty(AuditChainVerifier.ContinuesAfterProperty).GetInt64() + 1 + i));

        using var seqsvr = new Seqsvr();
        var verified = await seqsvr.RunWithInputAsync(SecretKeyOfTheServer() + "\n", "audit", "verify", "--file", first, "--key-on-input");
        verified.ExitCode.ShouldBe(0, verified.Everything);
        verified.Output.ShouldContain(Path.GetFileName(second));
        verified.Output.ShouldContain("intact");
    }

    [Fact]
    public async Task A_hung_fsync_answers_503_within_the_write_limit_changes_nothing_and_the_line_keeps_its_place()
    {
        await using var server = await StartAsync(("SEQ_AUDIT_WRITETIMEOUTSECONDS", "1"));
        (await SetTitleAsync(server, "before")).StatusCode.ShouldBe(HttpStatusCode.OK);

        await using (await Strace.AttachAsync(server.ProcessId, "fsync,fdatasync:delay_enter=6s", Path.Combine(_root, "hang.trace")))
        {
            var clock = Stopwatch.StartNew();
            using var refused = await SetTitleAsync(server, "during");
            clock.Stop();
            refused.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5), "the write limit (1 s), not the hung fsync (6 s), decides");
            (await TitleAsync(server)).ShouldBe("before");
            var health = await HealthAsync(server);
            health.GetProperty("Audit").GetString().ShouldBe("Unavailable");
            health.GetProperty("AuditProblem").GetString().ShouldNotBeNull().ShouldContain("longer than 1 s");
        }

        await WaitUntilAuditIsAsync(server, "Available");
        (await SetTitleAsync(server, "after")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await server.StopAsync();

        var file = Directory.GetFiles(AuditDirectory).Single();
        var events = File.ReadLines(file).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var during = events.Single(e => e.TryGetProperty("Value", out var v) && v.GetString() == "during" && e.GetProperty("Event").GetString() == "Begin");
        var operation = during.GetProperty("OperationId").GetString();
        events.Where(e => e.GetProperty("OperationId").GetString() == operation).Select(e => e.GetProperty("Event").GetString()).ShouldBe(["Begin", "Abandon"]);
        events.Select(e => e.GetProperty("SequenceNumber").GetInt64()).ShouldBe(Enumerable.Range(1, events.Count).Select(i => (long)i));

        using var seqsvr = new Seqsvr();
        var verified = await seqsvr.RunWithInputAsync(SecretKeyOfTheServer() + "\n", "audit", "verify", "--file", file, "--key-on-input");
        verified.ExitCode.ShouldBe(0, verified.Everything);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    /// <summary>strace attached to every thread of a process, injecting a fault into its fsyncs until disposed.</summary>
    sealed class Strace : IAsyncDisposable
    {
        readonly Process _strace;
        readonly int _target;

        Strace(Process strace, int target)
        {
            _strace = strace;
            _target = target;
        }

        public static async Task<Strace> AttachAsync(int pid, string injection, string traceFile)
        {
            var start = new ProcessStartInfo("strace") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var argument in new[] { "-f", "-qq", "-p", pid.ToString(CultureInfo.InvariantCulture), "-e", "trace=fsync,fdatasync", "-e", "inject=" + injection, "-o", traceFile })
                start.ArgumentList.Add(argument);
            var strace = Process.Start(start)!;
            var attached = new Strace(strace, pid);
            var deadline = DateTime.UtcNow + Patience;
            while (!attached.TracesEveryThread())
            {
                if (strace.HasExited)
                    throw new InvalidOperationException($"strace could not attach: {await strace.StandardError.ReadToEndAsync()}");
                DateTime.UtcNow.ShouldBeLessThan(deadline, "strace did not attach to every thread in time");
                await Task.Delay(20);
            }
            return attached;
        }

        bool TracesEveryThread() => Tracers().All(tracer => tracer == _strace.Id);

        IEnumerable<int> Tracers() =>
            Directory.GetDirectories($"/proc/{_target}/task").Select(task =>
            {
                try
                {
                    var line = File.ReadLines(Path.Combine(task, "status")).First(l => l.StartsWith("TracerPid:", StringComparison.Ordinal));
                    return int.Parse(line["TracerPid:".Length..].Trim(), CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    return _strace.Id; // the thread ended meanwhile
                }
            });

        public async ValueTask DisposeAsync()
        {
            // SIGTERM makes strace detach cleanly; the server then runs on untraced, as after a disk recovers.
            if (!_strace.HasExited)
                Process.Start("kill", ["-TERM", _strace.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            using var timeout = new CancellationTokenSource(Patience);
            await _strace.WaitForExitAsync(timeout.Token);
            var deadline = DateTime.UtcNow + Patience;
            while (Tracers().Any(tracer => tracer != 0))
            {
                DateTime.UtcNow.ShouldBeLessThan(deadline, "strace did not detach in time");
                await Task.Delay(20);
            }
            _strace.Dispose();
        }
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Api.Hosting;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>What the audit log may hold in memory while its target is down, and the free space it keeps on its disk (ADR 0009).</summary>
public sealed class AuditQueueTests : IDisposable
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    readonly string _root = TestDirectories.NewPath("audit-queue");
    readonly SecretKey _key = SecretKey.Generate();

    /// <summary>An audit directory that cannot be created until <paramref name="repair"/> is called: a file stands in its place.</summary>
    string BrokenAuditDirectory(out Action repair)
    {
        Directory.CreateDirectory(_root);
        var blocker = Path.Combine(_root, "blocker");
        File.WriteAllText(blocker, "a file where the audit directory should be");
        var directory = Path.Combine(blocker, "audit");
        repair = () =>
        {
            File.Delete(blocker);
            Directory.CreateDirectory(directory);
        };
        return directory;
    }

    static AuditEntry Entry(AuditEventKind kind, Guid operation, int number = 0) =>
        new("Test", "Queue", kind, operation, "Event {Number}", [new("Number", number)]);

    static Task WriteAsync(AuditLog log, AuditEntry entry) => log.WriteAsync(entry, Principal.Anonymous, null, CancellationToken.None);

    [Fact]
    public async Task Once_the_target_is_closed_an_opening_event_is_refused_as_never_recorded_and_a_later_event_is_dropped_without_an_error()
    {
        var session = AuditSession.Start();
        var target = new FileAuditTarget(Path.Combine(_root, "closed"), session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance);
        await using var log = new AuditLog(target, session, _key, TimeProvider.System, new AuditLogLimits(20, 1024 * 1024));
        await WriteAsync(log, Entry(AuditEventKind.Begin, Guid.NewGuid()));
        await target.DisposeAsync();

        var refused = await Should.ThrowAsync<AuditUnavailableException>(() => WriteAsync(log, Entry(AuditEventKind.Begin, Guid.NewGuid())));
        refused.OpeningRecorded.ShouldBeFalse("an Abandon for it would close a Begin that is in no file");
        await WriteAsync(log, Entry(AuditEventKind.Complete, Guid.NewGuid()));
        await WriteAsync(log, Entry(AuditEventKind.Advise, Guid.NewGuid()));
    }

    [Fact]
    public async Task While_the_target_is_down_the_queue_stays_bounded_opening_events_are_refused_without_a_gap_and_closing_events_are_kept()
    {
        var directory = BrokenAuditDirectory(out var repair);
        var session = AuditSession.Start();
        var target = new FileAuditTarget(directory, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance);
        await using var log = new AuditLog(target, session, _key, TimeProvider.System, new AuditLogLimits(20, 1024 * 1024));

        var first = Guid.NewGuid();
        await Should.ThrowAsync<AuditUnavailableException>(() => WriteAsync(log, Entry(AuditEventKind.Begin, first)));
        for (var i = 0; i < 1000; i++)
            await WriteAsync(log, Entry(AuditEventKind.Advise, Guid.NewGuid(), i));

        log.Queue!.Value.Lines.ShouldBe(20, "the Begin and 19 advisory lines; the other 981 are only counted");
        log.AdvisoriesNotRecorded.ShouldBe(981);
        var refused = await Should.ThrowAsync<AuditUnavailableException>(() => WriteAsync(log, Entry(AuditEventKind.Begin, Guid.NewGuid())));
        refused.InnerException!.Message.ShouldContain("audit queue is full");
        log.TargetState.ShouldBe(AuditTargetState.Unavailable);
        await WriteAsync(log, Entry(AuditEventKind.Abandon, first));
        log.Queue!.Value.Lines.ShouldBe(21, "a closing event is accepted beyond the bound");

        repair();
        await Poll.UntilAsync(() => log.Queue!.Value.Lines == 0, Patience, "the queue draining after the directory was repaired");
        log.TargetState.ShouldBe(AuditTargetState.Available);
        await WriteAsync(log, Entry(AuditEventKind.Begin, Guid.NewGuid()));

        var lines = File.ReadAllLines(target.FilePath!);
        var events = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        events.Select(e => e.GetProperty("Event").GetString()).ShouldBe(["Begin", .. Enumerable.Repeat("Advise", 19), "Abandon", "Advise", "Begin"]);
        var summary = events[^2];
        summary.GetProperty("Category").GetString().ShouldBe("Audit");
        summary.GetProperty("NotRecordedCount").GetInt64().ShouldBe(981);
        summary.GetProperty("@m").GetString()!.ShouldStartWith("981 advisory events were not recorded");
        AuditChainVerifier.Verify(lines, _key).ShouldBe(new AuditChainVerification(true, 23, null));
    }

    [Fact]
    public async Task Advisory_events_still_uncounted_in_the_file_at_shutdown_are_summarized_before_the_log_closes()
    {
        var directory = Path.Combine(_root, "audit");
        var session = AuditSession.Start();
        var target = new FileAuditTarget(directory, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance);
        await using (var log = new AuditLog(target, session, _key, TimeProvider.System, new AuditLogLimits(1, 1024 * 1024)))
        {
            // A Begin whose line stays unwritten keeps the queue full: its directory cannot be created yet.
            Directory.CreateDirectory(_root);
            await File.WriteAllTextAsync(directory, "not a directory");
            await Should.ThrowAsync<AuditUnavailableException>(() => WriteAsync(log, Entry(AuditEventKind.Begin, Guid.NewGuid())));
            for (var i = 0; i < 5; i++)
                await WriteAsync(log, Entry(AuditEventKind.Advise, Guid.NewGuid(), i));
            log.AdvisoriesNotRecorded.ShouldBe(5);
            File.Delete(directory);
        }

        var lines = File.ReadAllLines(target.FilePath!);
        lines.Length.ShouldBe(2);
        JsonDocument.Parse(lines[1]).RootElement.GetProperty("NotRecordedCount").GetInt64().ShouldBe(5);
        AuditChainVerifier.Verify(lines, _key).IsIntact.ShouldBeTrue();
    }

    [Fact]
    public async Task Anonymous_refusals_cannot_grow_the_queue_past_its_bound_while_the_audit_directory_is_unusable()
    {
        var directory = BrokenAuditDirectory(out var repair);
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(directory, null, null) { Limits = new AuditLogLimits(50, 1024 * 1024) },
            // Through a trusted proxy each request comes from an address of its own, so none is summarized with
            // another (ADR 0011) and every refusal asks for a line of its own.
            TrustedProxies = ["127.0.0.1"],
        }, loginAsAdmin: false);
        var audit = server.Services.GetRequiredService<AuditLog>();

        using var anonymous = new HttpClient { BaseAddress = server.Address };
        for (var i = 0; i < 300; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users");
            request.Headers.Add("X-Forwarded-For", $"198.51.{i / 200}.{i % 200 + 1}");
            (await anonymous.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        audit.Queue!.Value.Lines.ShouldBeLessThanOrEqualTo(50);
        audit.AdvisoriesNotRecorded.ShouldBeGreaterThanOrEqualTo(250);
        using (var login = await anonymous.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = TestServer.AdminPassword }))
        {
            login.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            (await login.Content.ReadAsStringAsync()).ShouldContain("audit log is unavailable");
        }
        var health = await server.GetJsonAsync("/health");
        health.GetProperty("Audit").GetString().ShouldBe("Unavailable");
        health.GetProperty("AuditProblem").GetString().ShouldNotBeNullOrEmpty();

        repair();
        await Poll.UntilAsync(() => audit.TargetState == AuditTargetState.Available, Patience, "the audit target recovering");
        await server.LoginAsync("admin", TestServer.AdminPassword);

        var events = await server.AuditEventsAsync(all => all.Any(e => e.GetProperty("Category").GetString() == "Audit")
            && all.Any(e => e.GetProperty("Event").GetString() == "Complete"));
        events.Select(e => e.GetProperty("SequenceNumber").GetInt64()).ShouldBe(Enumerable.Range(1, events.Count).Select(i => (long)i));
        events.Where(e => e.GetProperty("Category").GetString() == "User").Select(e => e.GetProperty("Event").GetString())
            .ShouldBe(["Begin", "Complete"], "the login refused before its Begin took a place leaves no Abandon without a Begin");
        var refusals = events.Count(e => e.GetProperty("Category").GetString() == "Http");
        var notRecorded = events.Single(e => e.GetProperty("Operation").GetString() == "AdvisoriesNotRecorded").GetProperty("NotRecordedCount").GetInt64();
        (refusals + notRecorded).ShouldBe(300, "every refusal is either recorded or counted");
        AuditChainVerifier.Verify(TestServer.ReadSharedLines(Directory.GetFiles(directory).Single()), server.Options.SecretKey).IsIntact.ShouldBeTrue();
    }

    [Fact]
    public async Task Below_the_free_space_reserve_audited_operations_are_refused_and_health_and_the_report_say_why()
    {
        // A real nearly-full disk needs a small file system, which only root may mount; as root (as on CI) a failed
        // mount fails the test rather than letting it pass without having observed anything.
        if (Environment.UserName != "root")
            return;
        var mount = Path.Combine(_root, "small");
        Directory.CreateDirectory(mount);
        Run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount).ShouldBeTrue("mounting a 16 MB tmpfs as root");
        try
        {
            var directory = Path.Combine(mount, "audit");
            await using (var server = await TestServer.StartAsync(o => o with
            {
                Audit = new AuditOptions(directory, null, null) { File = FileAuditTargetOptions.Default with { MinimumFreeBytes = 8 * 1024 * 1024 } },
            }))
            {
                (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "before" })).StatusCode.ShouldBe(HttpStatusCode.OK);

                var filler = Path.Combine(mount, "filler");
                await File.WriteAllBytesAsync(filler, new byte[10 * 1024 * 1024]);
                using (var refused = await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "disk nearly full" }))
                    refused.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
                (await server.GetJsonAsync("/api/settings/setting-InstanceTitle")).GetProperty("Value").GetString().ShouldBe("before");
                var health = await server.GetJsonAsync("/health");
                health.GetProperty("Audit").GetString().ShouldBe("Unavailable");
                health.GetProperty("AuditProblem").GetString()!.ShouldContain("less than the 8 MB that audit.minimumFreeSpaceMB keeps in reserve");
                var report = await server.Client.GetStringAsync("/api/diagnostics/report");
                report.ShouldContain("state Unavailable");
                report.ShouldContain("audit.minimumFreeSpaceMB");

                File.Delete(filler);
                (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "after" })).StatusCode.ShouldBe(HttpStatusCode.OK);
                (await server.GetJsonAsync("/health")).GetProperty("Audit").GetString().ShouldBe("Available");
            }
        }
        finally
        {
            Run("umount", mount);
        }
    }

    [Fact]
    public async Task Audit_files_are_created_readable_and_writable_by_their_owner_only()
    {
        var session = AuditSession.Start();
        await using var target = new FileAuditTarget(Path.Combine(_root, "audit"), session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance);

        await target.Enqueue("{\"Counter\":1}"u8.ToArray(), blocking: true);

        if (!OperatingSystem.IsWindows())
            File.GetUnixFileMode(target.FilePath!).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    static bool Run(string program, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = System.Diagnostics.Process.Start(start)!;
        process.WaitForExit();
        return process.ExitCode == 0;
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Seq.Api.Hosting;
using Seq.Application.Auditing;
using Seq.Application.Pipeline;
using Seq.Domain.Security;
using Seq.Infrastructure.Auditing;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>What a probe just before each handler found in the audit files: was the operation's Begin already on disk?</summary>
public sealed class HandlerProbe
{
    public ConcurrentBag<(Type Request, string? OperationId, bool BeginOnDisk)> Observations { get; } = [];
}

/// <summary>The innermost behaviour (registered after the server's own): runs right before the handler.</summary>
public sealed class BeginOnDiskProbe<TRequest, TResponse>(HandlerProbe probe, OperationContext operation, ServerOptions options)
    : IPipelineBehavior<TRequest, TResponse>
{
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (AuditedOperation.Of(typeof(TRequest)) is not null)
        {
            var opening = Directory.GetFiles(options.Audit.Path!, "seq-audit-*.ndjson")
                .SelectMany(TestServer.ReadSharedLines)
                .Select(line => JsonDocument.Parse(line).RootElement)
                .Any(e => e.GetProperty("OperationId").GetString() == operation.AuditOperationId
                          && e.GetProperty("Event").GetString() is "Begin" or "Record");
            probe.Observations.Add((typeof(TRequest), operation.AuditOperationId, opening));
        }
        return next();
    }
}

public sealed class AuditPipelineTests : IDisposable
{
    readonly TestPaths _paths = new();

    public void Dispose() => _paths.Dispose();

    string NewAuditDirectory() => _paths.New("audit-test");

    static Task<TestServer> StartAuditedAsync(string directory, HandlerProbe? probe = null) =>
        TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(directory, null, null),
            BackupLocation = Path.Combine(directory + "-backups"),
            ConfigureServices = services =>
            {
                if (probe is null)
                    return;
                services.AddSingleton(probe);
                services.AddTransient(typeof(IPipelineBehavior<,>), typeof(BeginOnDiskProbe<,>));
            },
        });

    [Fact]
    public async Task Every_audited_operation_has_its_begin_on_disk_before_its_handler_runs_and_closes_with_the_same_operation_id()
    {
        var probe = new HandlerProbe();
        await using var server = await StartAuditedAsync(NewAuditDirectory(), probe);
        var admin = server.Client;

        (await admin.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "Audited" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var feed = await TestServer.ReadAsync(await admin.PostAsJsonAsync("/api/feeds", new { Name = "Audited", Location = "/srv/nuget", NewPassword = "feed-password-1" }), HttpStatusCode.Created);
        server.Secrets.Add("feed-password-1");
        var feedId = feed.GetProperty("Id").GetString();
        (await admin.PutAsJsonAsync($"/api/feeds/{feedId}", new { Name = "Audited 2", Location = "/srv/nuget" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await admin.DeleteAsync($"/api/feeds/{feedId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var userId = await server.CreateUserAsync("audited-user", "audited-password-1", BuiltInRoles.UserReadWrite.Id);
        (await admin.PutAsJsonAsync($"/api/users/{userId}", new { Username = "audited-user", RoleIds = new[] { BuiltInRoles.UserReadWrite.Id } })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var user = await server.LoginAsync("audited-user", "audited-password-1");
        server.Secrets.Add("audited-password-2");
        (await user.PutAsJsonAsync("/api/users/current/password", new { Password = "audited-password-1", NewPassword = "audited-password-2" })).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var key = await TestServer.ReadAsync(await user.PostAsJsonAsync("/api/apikeys", new { Title = "audited key", AssignedPermissions = new[] { "Read" }, OwnerId = userId }), HttpStatusCode.Created);
        server.Secrets.Add(key.GetProperty("Token").GetString()!);
        var keyId = key.GetProperty("Id").GetString();
        (await user.PutAsJsonAsync($"/api/apikeys/{keyId}", new { Title = "audited key 2", AssignedPermissions = new[] { "Read" } })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await user.DeleteAsync($"/api/apikeys/{keyId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await user.PostAsync("/api/users/logout", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await admin.DeleteAsync($"/api/users/{userId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        object Signal(string title) => new
        {
            Title = title, Description = "audited", Filters = new[] { new { Description = "errors", DescriptionIsExcluded = false, Filter = "@Level = 'Error'", FilterNonStrict = "@Level = 'Error'" } },
            Columns = Array.Empty<object>(), Grouping = "Inferred", ExplicitGroupName = (string?)null, IsProtected = false, IsIndexSuppressed = false, OwnerId = (string?)null,
        };
        var signal = await TestServer.ReadAsync(await admin.PostAsJsonAsync("/api/signals", Signal("Audited signal")), HttpStatusCode.Created);
        var signalId = signal.GetProperty("Id").GetString();
        (await admin.PutAsJsonAsync($"/api/signals/{signalId}", Signal("Audited signal 2"))).IsSuccessStatusCode.ShouldBeTrue();
        (await admin.DeleteAsync($"/api/signals/{signalId}")).IsSuccessStatusCode.ShouldBeTrue();
        (await admin.PutAsJsonAsync("/api/settings/internalerrorreporting", new { InternalErrorReportingEnabled = false, ReplyEmail = (string?)null, UsageTelemetryEnabled = false })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var backup = await TestServer.ReadAsync(await admin.PostAsync("/api/backups/immediate", null), HttpStatusCode.Created);
        (await admin.GetAsync($"/api/backups/{backup.GetProperty("Id").GetString()}/download")).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The session's first and last lines, a restore's record at the start after it, and the day's scheduled backup are
        // the server's own, not a request's (BackupScheduleTests covers the schedule's Begin and its Complete or Fail).
        var operations = AuditCatalogue.All.Where(e => e.Events.Any(k => k != AuditEventKind.Advise)
            && e != AuditCatalogue.SessionStarted && e != AuditCatalogue.SessionEnded && e != AuditCatalogue.BackupRestored
            && e != AuditCatalogue.BackupScheduled).Select(e => $"{e.Category}/{e.Operation}").ToHashSet();
        var observed = probe.Observations.Select(o => AuditedOperation.Of(o.Request)!).Select(o => $"{o.Category}/{o.Name}").ToHashSet();
        observed.ShouldBe(operations, ignoreOrder: true);
        probe.Observations.ShouldAllBe(o => o.BeginOnDisk);

        // A Record (a backup's download) is one line written before the effect; every other operation is a Begin and its Complete.
        string[] Expected((Type Request, string? OperationId, bool BeginOnDisk) o)
        {
            var operation = AuditedOperation.Of(o.Request)!;
            var entry = AuditCatalogue.All.Single(e => e.Category == operation.Category && e.Operation == operation.Name);
            return entry.Events.SequenceEqual([AuditEventKind.Record]) ? ["Record"] : ["Begin", "Complete"];
        }
        var events = await server.AuditEventsAsync(all => probe.Observations.All(o =>
            all.Count(e => e.GetProperty("OperationId").GetString() == o.OperationId) >= Expected(o).Length));
        foreach (var observation in probe.Observations)
        {
            var ofOperation = events.Where(e => e.GetProperty("OperationId").GetString() == observation.OperationId).Select(e => e.GetProperty("Event").GetString()).ToList();
            string.Join(",", ofOperation).ShouldBe(string.Join(",", Expected(observation)), $"{observation.Request.Name} {observation.OperationId}");
        }
    }

    [Fact]
    public async Task A_successful_and_a_failed_login_produce_events_shaped_like_the_specs_examples()
    {
        var directory = NewAuditDirectory();
        await using (var server = await StartAuditedAsync(directory))
        {
            await server.CreateUserAsync("spec-user", "spec-password-1", BuiltInRoles.UserReadOnly.Id);
            await server.LoginAsync("spec-user", "spec-password-1");
            (await server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = "spec-user", Password = "wrong-password" })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

            var all = await server.AuditEventsAsync(events =>
                events.Any(e => e.GetProperty("Event").GetString() == "Abandon") && events.Any(e => e.GetProperty("Event").GetString() == "Complete"
                    && e.GetProperty("Operation").GetString() == "LocalLogin" && e.GetProperty("Username").GetString() == "spec-user"));
            var logins = all.Where(e => e.GetProperty("Operation").GetString() == "LocalLogin").ToList();
            var success = logins.Where(e => e.GetProperty("Username").GetString() == "spec-user").First();
            var operationId = success.GetProperty("OperationId").GetString();
            var begin = logins.Single(e => e.GetProperty("OperationId").GetString() == operationId && e.GetProperty("Event").GetString() == "Begin");
            var complete = logins.Single(e => e.GetProperty("OperationId").GetString() == operationId && e.GetProperty("Event").GetString() == "Complete");
            var abandon = logins.Single(e => e.GetProperty("Event").GetString() == "Abandon");

            string[] common = ["@t", "@mt", "@m", "@i", "AuditSession", "Category", "Event", "HttpRequestMethod", "HttpRequestPath", "OnBehalfOfUserId",
                "Operation", "OperationId", "Principal", "PrincipalId", "PrincipalType", "RemoteIPAddress", "SequenceNumber", "XForwardedFor"];
            Names(begin).ShouldBe([.. common, "Username"], ignoreOrder: true);
            Names(complete).ShouldBe([.. common, "UserId", "Username"], ignoreOrder: true);
            Names(abandon).ShouldBe([.. common, "@x"], ignoreOrder: true);

            begin.GetProperty("@mt").GetString().ShouldBe("Beginning login attempt for {Username}");
            begin.GetProperty("@m").GetString().ShouldBe("Beginning login attempt for \"spec-user\"");
            begin.GetProperty("PrincipalType").GetString().ShouldBe("Public");
            begin.GetProperty("Principal").GetString().ShouldBe("DefaultPublicPrincipal");
            begin.GetProperty("PrincipalId").GetString().ShouldBe("principal-public");
            begin.GetProperty("HttpRequestPath").GetString().ShouldBe("/api/users/login");
            begin.GetProperty("HttpRequestMethod").GetString().ShouldBe("POST");
            begin.GetProperty("XForwardedFor").ValueKind.ShouldBe(JsonValueKind.Null);
            begin.GetProperty("@i").GetString()!.Length.ShouldBe(8);
            complete.GetProperty("@mt").GetString().ShouldBe("User {Username} successfully logged in as {UserId}");
            complete.GetProperty("PrincipalType").GetString().ShouldBe("User");
            complete.GetProperty("Principal").GetString().ShouldBe("spec-user");
            complete.GetProperty("PrincipalId").GetString().ShouldBe(complete.GetProperty("UserId").GetString());
            abandon.GetProperty("@mt").GetString().ShouldBe("The login was rejected");
            abandon.GetProperty("@x").GetString()!.ShouldContain("Invalid username or password.");
            abandon.GetProperty("PrincipalType").GetString().ShouldBe("Public");
            begin.GetProperty("AuditSession").GetString()!.Length.ShouldBe(20);
        }

        var lines = Directory.GetFiles(directory).SelectMany(File.ReadAllLines).ToList();
        lines.ShouldAllBe(l => l.StartsWith("{\"@t\":", StringComparison.Ordinal));
    }

    static string[] Names(JsonElement e) => [.. e.EnumerateObject().Select(p => p.Name).Where(n => n != AuditLog.ChainProperty)];

    [Fact]
    public async Task Sequence_numbers_have_no_gaps_and_follow_the_files_order_under_64_concurrent_operations()
    {
        await using var server = await StartAuditedAsync(NewAuditDirectory());
        await Task.WhenAll(Enumerable.Range(0, 64).Select(i =>
            server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = $"title {i}" })));

        var events = server.AuditEvents();
        var sequence = events.Select(e => e.GetProperty("SequenceNumber").GetInt64()).ToList();
        sequence.ShouldBe(Enumerable.Range(1, sequence.Count).Select(i => (long)i));
        events.Count(e => e.GetProperty("Operation").GetString() == "Update" && e.GetProperty("Event").GetString() == "Begin").ShouldBe(64);
        events.Select(e => e.GetProperty("AuditSession").GetString()).Distinct().Count().ShouldBe(1);

        var file = Directory.GetFiles(server.Options.Audit.Path!).Single();
        Path.GetFileName(file).ShouldMatch(@"^seq-audit-\d{8}-[A-Za-z0-9]{20}\.ndjson$");
        AuditChainVerifier.Verify(File.ReadAllLines(file), server.Options.SecretKey).IsIntact.ShouldBeTrue();
    }

    [Fact]
    public async Task A_refused_request_is_advised_and_a_rejected_command_is_abandoned_with_its_reason()
    {
        await using var server = await StartAuditedAsync(NewAuditDirectory());
        (await server.CreateClient().GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await server.Client.PutAsJsonAsync("/api/settings/setting-BackupsToKeep", new { Value = "many" })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        var events = await server.AuditEventsAsync(all => all.Any(e => e.GetProperty("Event").GetString() == "Advise")
            && all.Any(e => e.GetProperty("Event").GetString() == "Abandon"));
        var refused = events.Single(e => e.GetProperty("Event").GetString() == "Advise");
        refused.GetProperty("Category").GetString().ShouldBe("Http");
        refused.GetProperty("StatusCode").GetInt32().ShouldBe(401);
        refused.GetProperty("HttpRequestPath").GetString().ShouldBe("/api/settings");
        var abandoned = events.Single(e => e.GetProperty("Event").GetString() == "Abandon");
        abandoned.GetProperty("@x").GetString()!.ShouldContain("ValidationException");
        events.Single(e => e.GetProperty("Event").GetString() == "Begin" && e.GetProperty("OperationId").GetString() == abandoned.GetProperty("OperationId").GetString())
            .GetProperty("Value").GetString().ShouldBe("many");
    }

    [Fact]
    public async Task Auditing_is_off_by_default_and_the_diagnostic_report_and_health_say_which_target_is_in_use()
    {
        await using (var plain = await TestServer.StartAsync())
        {
            var report = await (await plain.Client.GetAsync("/api/diagnostics/report")).Content.ReadAsStringAsync();
            report.ShouldContain("Auditing is disabled");
            (await plain.GetJsonAsync("/health")).GetProperty("Audit").GetString().ShouldBe("Disabled");
        }

        var directory = NewAuditDirectory();
        await using var audited = await StartAuditedAsync(directory);
        var auditedReport = await (await audited.Client.GetAsync("/api/diagnostics/report")).Content.ReadAsStringAsync();
        auditedReport.ShouldContain("Auditing is enabled");
        auditedReport.ShouldContain("file");
        (await audited.GetJsonAsync("/health")).GetProperty("Audit").GetString().ShouldBe("Available");
    }

    [Fact]
    public async Task An_unwritable_audit_path_refuses_operations_with_503_and_changes_nothing_until_it_recovers()
    {
        var root = NewAuditDirectory();
        Directory.CreateDirectory(root);
        var blocker = Path.Combine(root, "blocker");
        await File.WriteAllTextAsync(blocker, "a file where the audit directory should be");
        // Without authentication, so that no (audited) login is needed while the target is broken.
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(Path.Combine(blocker, "audit"), null, null),
            FirstRun = new Seq.Infrastructure.Security.FirstRunOptions(NoAuthentication: true),
        }, loginAsAdmin: false);

        using var refused = await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "unaudited" });
        refused.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("audit log is unavailable");
        (await server.GetJsonAsync("/api/settings/setting-InstanceTitle")).GetProperty("Value").GetString().ShouldNotBe("unaudited");
        (await server.GetJsonAsync("/health")).GetProperty("Audit").GetString().ShouldBe("Unavailable");

        File.Delete(blocker);
        Directory.CreateDirectory(Path.Combine(blocker, "audit"));
        (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "audited" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await server.GetJsonAsync("/api/settings/setting-InstanceTitle")).GetProperty("Value").GetString().ShouldBe("audited");

        // Nothing was lost: the refused operation's Begin and its abandonment are in the file, before the later one.
        var events = server.AuditEvents().Select(e => (Event: e.GetProperty("Event").GetString(), Value: e.TryGetProperty("Value", out var v) ? v.GetString() : null)).ToList();
        events.ShouldContain(("Begin", "unaudited"));
        events.IndexOf(("Begin", "unaudited")).ShouldBeLessThan(events.IndexOf(("Begin", "audited")));
        events.Count(e => e.Event == "Abandon").ShouldBe(1);
    }
}

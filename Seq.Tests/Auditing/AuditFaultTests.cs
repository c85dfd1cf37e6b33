using System.Net;
using System.Net.Http.Json;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Seq.Api.Hosting;
using Seq.Application.Settings;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>Breaks a setting change from inside the operation when its value asks for it: an unexpected failure.</summary>
public sealed class ExplodingSettingBehaviour<TRequest, TResponse> : IPipelineBehavior<TRequest, TResponse>
{
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next) =>
        request is ChangeSettingCommand { Value: "explode" } ? throw new InvalidOperationException("The probe broke the operation on purpose.") : next();
}

public sealed class AuditFaultTests : IDisposable
{
    readonly TestPaths _paths = new();

    public void Dispose() => _paths.Dispose();

    string NewAuditDirectory() => _paths.New("audit-fault");

    [Fact]
    public async Task An_unexpected_error_is_recorded_as_fail_with_the_full_error_and_stack_trace()
    {
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(NewAuditDirectory(), null, null),
            ConfigureServices = services => services.AddTransient(typeof(IPipelineBehavior<,>), typeof(ExplodingSettingBehaviour<,>)),
        });

        using var response = await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "explode" });
        response.StatusCode.ShouldBe(HttpStatusCode.InternalServerError);

        var events = await server.AuditEventsAsync(all => all.Any(e => e.GetProperty("Event").GetString() == "Fail"));
        var fail = events.Single(e => e.GetProperty("Event").GetString() == "Fail");
        fail.GetProperty("Operation").GetString().ShouldBe("Update");
        var error = fail.GetProperty("@x").GetString()!;
        error.ShouldContain("System.InvalidOperationException: The probe broke the operation on purpose.");
        error.ShouldContain(" at ");
        events.ShouldContain(e => e.GetProperty("Event").GetString() == "Begin"
            && e.GetProperty("OperationId").GetString() == fail.GetProperty("OperationId").GetString());
    }

    [Fact]
    public async Task A_write_that_fails_refuses_the_operation_with_503_and_once_writes_succeed_nothing_is_missing()
    {
        // A file where the audit directory's parent should be: every write fails until it is replaced by a folder.
        var root = NewAuditDirectory();
        Directory.CreateDirectory(root);
        var blocker = Path.Combine(root, "blocker");
        File.WriteAllText(blocker, "a file where the audit directory should be");
        var directory = Path.Combine(blocker, "audit");
        // Without authentication, so that nothing but the session's first line is audited before the fault is seen.
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(directory, null, null) { File = new FileAuditTargetOptions(TimeSpan.FromMilliseconds(500), 0) },
            FirstRun = new FirstRunOptions(NoAuthentication: true),
        }, loginAsAdmin: false);

        using var refused = await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "disk full" });
        refused.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await server.GetJsonAsync("/api/settings/setting-InstanceTitle")).GetProperty("Value").GetString().ShouldNotBe("disk full");

        File.Delete(blocker);
        Directory.CreateDirectory(directory);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode status;
        // The writer retries with a backoff; the change goes through once the queued lines are written.
        while ((status = (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "space again" })).StatusCode) != HttpStatusCode.OK)
        {
            status.ShouldBe(HttpStatusCode.ServiceUnavailable);
            DateTime.UtcNow.ShouldBeLessThan(deadline, "writes did not succeed again");
            await Task.Delay(50);
        }

        var events = await server.AuditEventsAsync(all => all.Count(e => e.GetProperty("Event").GetString() == "Complete") >= 1);
        events.Select(e => e.GetProperty("SequenceNumber").GetInt64()).ShouldBe(Enumerable.Range(1, events.Count).Select(i => (long)i));
        events[0].GetProperty("Operation").GetString().ShouldBe("SessionStart");
        events.Skip(1).Take(2).Select(e => e.GetProperty("Event").GetString()).ShouldBe(["Begin", "Abandon"]);
        events[^2..].Select(e => e.GetProperty("Event").GetString()).ShouldBe(["Begin", "Complete"]);
        AuditChainVerifier.Verify(TestServer.ReadSharedLines(Directory.GetFiles(directory).Single()), server.Options.SecretKey).IsIntact.ShouldBeTrue();
    }

    [Fact]
    public async Task No_instance_setting_reads_or_changes_auditing()
    {
        await using var server = await TestServer.StartAsync();
        var settings = (await server.GetJsonAsync("/api/settings")).EnumerateArray().Select(s => s.GetProperty("Name").GetString()!).ToList();

        settings.ShouldNotBeEmpty();
        settings.ShouldAllBe(name => !name.Contains("audit", StringComparison.OrdinalIgnoreCase));
        (await server.Client.PutAsJsonAsync("/api/settings/setting-AuditPath", new { Value = "/tmp" })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Seq.Api.Hosting;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// A server auditing to another over HTTP. The receiving side is a loopback listener that records what it is sent
/// and answers as the test says: our server has no ingestion endpoint yet, so a second instance cannot store them.
/// </summary>
public sealed class AuditServerTargetPipelineTests : IAsyncLifetime
{
    const string IngestionKey = "audit-ingestion-key-0123456789";

    AuditListener _listener = null!;

    public async Task InitializeAsync() => _listener = await AuditListener.StartAsync();

    public async Task DisposeAsync() => await _listener.DisposeAsync();

    List<JsonElement> ReceivedEvents() => [.. _listener.AcceptedLines.Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Fact]
    public async Task Audit_events_reach_the_other_server_as_clef_with_its_api_key_and_a_refusing_target_blocks_operations_until_it_recovers()
    {
        await using var server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(null, _listener.Address, IngestionKey) });
        (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "first" })).StatusCode.ShouldBe(HttpStatusCode.OK);

        _listener.Posts.ShouldAllBe(p => p.ApiKey == IngestionKey && p.ContentType!.StartsWith("application/vnd.serilog.clef", StringComparison.Ordinal));
        var events = ReceivedEvents();
        events.ShouldContain(e => e.GetProperty("Operation").GetString() == "LocalLogin" && e.GetProperty("Event").GetString() == "Begin");
        events.ShouldContain(e => e.GetProperty("Operation").GetString() == "Update" && e.GetProperty("Event").GetString() == "Begin");
        (await server.GetJsonAsync("/health")).GetProperty("Audit").GetString().ShouldBe("Available");

        _listener.Answer = ListenerAnswer.ServerError;
        using var refused = await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "while broken" });
        refused.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("audit log is unavailable");
        (await server.GetJsonAsync("/api/settings/setting-InstanceTitle")).GetProperty("Value").GetString().ShouldBe("first");

        _listener.Answer = ListenerAnswer.Created;
        (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "recovered" })).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Everything arrives once, in sequence, including the refused operation's Begin and its abandonment.
        var sequence = ReceivedEvents().Select(e => e.GetProperty("SequenceNumber").GetInt64()).ToList();
        sequence.ShouldBe(Enumerable.Range(1, sequence.Count).Select(i => (long)i));
        ReceivedEvents().ShouldContain(e => e.GetProperty("Event").GetString() == "Abandon");
        string.Join('\n', _listener.Posts.Select(p => p.Body)).ShouldNotContain(TestServer.AdminPassword);
    }

    [Fact]
    public async Task An_audit_server_that_refuses_connections_blocks_audited_operations_but_not_unaudited_reads()
    {
        int closedPort;
        using (var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            socket.Start();
            closedPort = ((IPEndPoint)socket.LocalEndpoint).Port;
        }
        var options = new AuditOptions(null, new Uri($"http://127.0.0.1:{closedPort}"), IngestionKey);
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = options,
            FirstRun = new Seq.Infrastructure.Security.FirstRunOptions(NoAuthentication: true),
        }, loginAsAdmin: false);

        (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "nowhere" })).StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await server.Client.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await server.GetJsonAsync("/api/settings/setting-InstanceTitle")).GetProperty("Value").GetString().ShouldNotBe("nowhere");
    }
}

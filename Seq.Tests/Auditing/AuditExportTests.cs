using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Seq.Api.Hosting;
using Seq.Tests.Cli;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// `seqsvr audit export` against a loopback stand-in for a Seq-compatible server: CLEF ingestion at
/// <c>/api/events/raw</c> (API key required) and a search at <c>/api/events?filter=AuditSession = '…'</c> that answers
/// the session's events newest first, as Seq's API shapes them (Properties as Name/Value pairs).
/// </summary>
public sealed class AuditExportTests : IAsyncDisposable
{
    const string ApiKey = "export-test-key-1";
    readonly string _directory = TestDirectories.NewPath("export");
    readonly ConcurrentQueue<(string Session, long Sequence, string Line)> _stored = new();
    WebApplication? _app;

    async Task<Uri> StartStandInAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/api/events/raw", async (HttpContext context) =>
        {
            if (context.Request.Headers["X-Seq-ApiKey"] != ApiKey)
                return Results.Unauthorized();
            var body = await new StreamReader(context.Request.Body, Encoding.UTF8).ReadToEndAsync();
            foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var document = JsonDocument.Parse(line);
                _stored.Enqueue((document.RootElement.GetProperty("AuditSession").GetString()!, document.RootElement.GetProperty("SequenceNumber").GetInt64(), line));
            }
            return Results.StatusCode(StatusCodes.Status201Created);
        });
        _app.MapGet("/api/events", (HttpContext context) =>
        {
            if (context.Request.Headers["X-Seq-ApiKey"] != ApiKey)
                return Results.Unauthorized();
            var session = Regex.Match(context.Request.Query["filter"].ToString(), @"^AuditSession = '([A-Za-z0-9]+)'$").Groups[1].Value;
            var count = int.Parse(context.Request.Query["count"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
            return Results.Json(_stored.Where(s => s.Session == session).OrderByDescending(s => s.Sequence).Take(count)
                .Select(s => new { Properties = new object[] { new { Name = "AuditSession", Value = (object)s.Session }, new { Name = "SequenceNumber", Value = (object)s.Sequence } } }),
                new JsonSerializerOptions { PropertyNamingPolicy = null });
        });
        await _app.StartAsync();
        return new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    [Fact]
    public async Task Export_twice_into_a_second_server_stores_each_event_once()
    {
        await using (var server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_directory, null, null) }))
        {
            await server.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Value":"exported"}""", HttpStatusCode.OK);
            await server.CreateUserAsync("exported", "exported-password-1");
        }
        var written = Directory.GetFiles(_directory).SelectMany(File.ReadLines).Where(l => l.Length > 0).ToList();
        var address = await StartStandInAsync();
        using var seqsvr = new Seqsvr();

        var first = await seqsvr.RunAsync("audit", "export", _directory, "--server", address.ToString(), "--apikey", ApiKey);
        var second = await seqsvr.RunAsync("audit", "export", _directory, "--server", address.ToString(), "--apikey", ApiKey);

        first.ExitCode.ShouldBe(0, first.Everything);
        first.Output.ShouldContain($"Sent {written.Count} events of 1 sessions.");
        second.ExitCode.ShouldBe(0, second.Everything);
        second.Output.ShouldContain("Sent 0 events of 1 sessions.");
        _stored.Select(s => s.Line).ShouldBe(written, "each event once, exactly as written, in order");
        _stored.Select(s => s.Sequence).ShouldBe(Enumerable.Range(1, written.Count).Select(i => (long)i));

        var refused = await seqsvr.RunAsync("audit", "export", _directory, "--server", address.ToString(), "--apikey", "wrong-key-1");
        refused.ExitCode.ShouldBe(2);
        refused.Error.ShouldContain("401");
        refused.Everything.ShouldNotContain("wrong-key-1");
    }

    [Fact]
    public async Task Export_twice_into_a_second_instance_of_our_server_stores_each_event_once()
    {
        await using (var audited = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_directory, null, null) }))
            await audited.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Value":"exported"}""", HttpStatusCode.OK);
        var written = Directory.GetFiles(_directory).SelectMany(File.ReadLines).Where(l => l.Length > 0).ToList();
        var session = JsonDocument.Parse(written[0]).RootElement.GetProperty("AuditSession").GetString()!;
        await using var second = await TestServer.StartAsync();
        var key = await Seq.Tests.Events.EventServerFixture.CreateKeyAsync(second.Client, "audit export", ["Ingest", "Read"]);
        second.Secrets.Add(key);
        using var seqsvr = new Seqsvr();

        var first = await seqsvr.RunAsync("audit", "export", _directory, "--server", second.Address.ToString(), "--apikey", key);
        var again = await seqsvr.RunAsync("audit", "export", _directory, "--server", second.Address.ToString(), "--apikey", key);

        first.ExitCode.ShouldBe(0, first.Everything);
        first.Output.ShouldContain($"Sent {written.Count} events of 1 sessions.");
        again.ExitCode.ShouldBe(0, again.Everything);
        again.Output.ShouldContain("Sent 0 events of 1 sessions.");
        var stored = await second.GetJsonAsync($"/api/events?filter={Uri.EscapeDataString($"AuditSession = '{session}'")}&count=1000");
        var sequences = stored.EnumerateArray()
            .Select(e => e.GetProperty("Properties").EnumerateArray().Single(p => p.GetProperty("Name").GetString() == "SequenceNumber").GetProperty("Value").GetInt64())
            .Order().ToList();
        sequences.ShouldBe(Enumerable.Range(1, written.Count).Select(i => (long)i), "each event stored once");
    }

    [Fact]
    public async Task A_search_answer_of_an_unexpected_shape_stops_the_export_with_its_reason_and_sends_nothing()
    {
        await using (var audited = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_directory, null, null) }))
            await audited.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Value":"exported"}""", HttpStatusCode.OK);
        var answer = "";
        var posted = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/api/events/raw", () => { Interlocked.Increment(ref posted); return Results.StatusCode(StatusCodes.Status201Created); });
        _app.MapGet("/api/events", () => Results.Text(answer, "application/json"));
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var seqsvr = new Seqsvr();

        foreach (var body in new[]
                 {
                     "\"a string\"", "42", "{\"Events\":5}", "[5]", "[{\"Properties\":[5]}]",
                     "[{\"Properties\":[{\"Name\":5,\"Value\":1}]}]", "[{\"Properties\":{\"SequenceNumber\":1e30}}]",
                     "[{\"Properties\":{\"SequenceNumber\":1.5}}]", "not json",
                 })
        {
            answer = body;
            var result = await seqsvr.RunAsync("audit", "export", _directory, "--server", address, "--apikey", ApiKey);
            result.ExitCode.ShouldBe(2, $"answer {body}: {result.Everything}");
            result.Error.ShouldStartWith("The export stopped: ", customMessage: $"answer {body}: {result.Everything}");
            result.Everything.ShouldNotContain("Unhandled", customMessage: body);
        }
        posted.ShouldBe(0, "what the server holds could not be told, so nothing may be sent");
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }
}

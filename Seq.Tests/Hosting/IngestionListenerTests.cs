using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Seq.Api.Hosting;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class IngestionListenerTests : IAsyncLifetime
{
    const string RefusalOfTheListener = "serves only event ingestion";
    const string IngestToken = "ListenerIngest0123456789";

    TestServer _server = null!;
    HttpClient _ingestion = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o => o with
        {
            IngestionListenUris = ["http://127.0.0.1:0"],
            FirstRun = o.FirstRun with { IngestApiKey = IngestToken },
        });
        _server.Secrets.Add(IngestToken);
        var address = _server.Services.GetRequiredService<Listeners>().Addresses(ingestionOnly: true).Single();
        address.Port.ShouldNotBe(_server.Address.Port);
        _ingestion = new HttpClient { BaseAddress = address };
    }

    public async Task DisposeAsync()
    {
        _ingestion.Dispose();
        await _server.DisposeAsync();
    }

    [Theory]
    [InlineData("GET", "/api")]
    [InlineData("GET", "/health")]
    [InlineData("GET", "/robots.txt")]
    [InlineData("GET", "/api/settings")]
    [InlineData("POST", "/api/users/login")]
    [InlineData("GET", "/api/events/raw/other")]
    [InlineData("POST", "/ingest/clef/../../api/users/login")]
    public async Task On_the_ingestion_only_address_everything_but_ingestion_is_not_found(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
            request.Content = JsonContent.Create(new { Username = "admin", Password = TestServer.AdminPassword });

        using var response = await _ingestion.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("Error").GetString().ShouldBe("This address serves only event ingestion (/api/events/raw and /ingest/clef).");
        response.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("frame-ancestors 'none'");
        response.Headers.GetValues("X-Content-Type-Options").Single().ShouldBe("nosniff");
        response.Headers.Contains("Set-Cookie").ShouldBeFalse();
    }

    [Theory]
    [InlineData("/api/events/raw")]
    [InlineData("/ingest/clef")]
    [InlineData("/API/Events/Raw")]
    public async Task On_the_ingestion_only_address_the_ingestion_paths_reach_the_server(string path)
    {
        using var content = new StringContent("{\"@t\":\"2026-01-01T00:00:00Z\",\"@mt\":\"Hello\"}\n", System.Text.Encoding.UTF8, "application/vnd.serilog.clef");

        using var response = await _ingestion.PostAsync(path, content);

        // The ingestion endpoint itself answers: it wants an API key.
        (await response.Content.ReadAsStringAsync()).ShouldNotContain(RefusalOfTheListener);
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.GetValues("X-Content-Type-Options").Single().ShouldBe("nosniff");
    }

    [Fact]
    public async Task Events_ingested_on_the_ingestion_only_address_with_an_ingest_key_are_stored_and_read_on_the_main_address()
    {
        using var content = new StringContent("{\"@t\":\"2026-01-01T00:00:00Z\",\"@mt\":\"Through the ingestion listener {N}\",\"N\":42}\n",
            System.Text.Encoding.UTF8, "application/vnd.serilog.clef");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ingest/clef") { Content = content };
        request.Headers.Add(RequestAuthentication.ApiKeyHeader, IngestToken);

        using var response = await _ingestion.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var events = await _server.GetJsonAsync("/api/events?count=10");
        events.ToString().ShouldContain("Through the ingestion listener");

        using var withoutKey = await _ingestion.PostAsync("/api/events/raw",
            new StringContent("{\"@t\":\"2026-01-01T00:00:00Z\",\"@mt\":\"No key\"}\n", System.Text.Encoding.UTF8, "application/vnd.serilog.clef"));
        withoutKey.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_server_auditing_to_the_ingestion_only_address_with_the_provisioned_key_has_its_audit_events_stored_there()
    {
        await using var audited = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(null, _server.Services.GetRequiredService<Listeners>().Addresses(ingestionOnly: true).Single(), IngestToken),
        });

        using var settings = await audited.Client.GetAsync("/api/settings");
        settings.StatusCode.ShouldBe(HttpStatusCode.OK);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await _server.GetJsonAsync("/api/events?count=100")).ToString().Contains("LocalLogin", StringComparison.Ordinal))
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the audited server's login never reached the audit instance");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task The_main_address_still_serves_the_whole_api()
    {
        using var api = await _server.Client.GetAsync("/api/settings");
        api.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var health = await _server.CreateClient().GetAsync("/health");
        health.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using Seq.Api.Hosting;
using Seq.Tests.Support;

namespace Seq.Tests.Feeds;

public sealed class FeedLocationCredentialTests : IAsyncLifetime
{
    const string User = "feeduser-Kq3v";
    const string Token = "feedtoken-9XyZ-k2Lm";
    const string Address = "nuget.example.com/v3/index.json";

    readonly TestPaths _paths = new();
    TestServer _server = null!;

    public async Task InitializeAsync()
    {
        var directory = _paths.New("audit-test");
        _server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(directory, null, null) });
        // The server's disposal checks that no audit file holds any of these.
        _server.Secrets.AddRange([User, Token]);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _server.DisposeAsync();
        }
        finally
        {
            _paths.Dispose();
        }
    }

    /// <summary>User information as URLs write it, and as lenient parsers would still find it.</summary>
    static readonly string[] LocationsWithCredentials =
    [
        $"https://{User}:{Token}@{Address}",
        $"https://{Token}@{Address}",
        $"HTTPS://{User}:{Token}@nuget.example.com:8443/v3/index.json",
        $"https:\\\\{User}:{Token}@{Address}",
        $"  https://{User}:{Token}@{Address}",
        $"https:{User}:{Token}@{Address}",
        $"https://{User}:{Token}@",
        $"https://{User}:{Token}@@{Address}",
    ];

    async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, object body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
        using var response = await _server.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    async Task<string> FeedsAsync() => (await _server.GetJsonAsync("/api/feeds")).GetRawText();

    string AuditText() => string.Join('\n', _server.AuditEvents().Select(e => e.GetRawText()));

    [Fact]
    public async Task A_location_with_credentials_is_refused_on_create_and_update_and_neither_the_user_nor_the_token_reaches_the_audit_log()
    {
        var created = await SendAsync(HttpMethod.Post, "/api/feeds", new { Name = "Guarded", Location = $"https://{Address}", Username = "builder" });
        created.Status.ShouldBe(HttpStatusCode.Created, created.Body);
        var id = JsonDocument.Parse(created.Body).RootElement.GetProperty("Id").GetString();
        var before = await FeedsAsync();

        foreach (var location in LocationsWithCredentials)
        {
            // Names that are free to take, so that the location is the only thing wrong with each request.
            foreach (var (method, path, name) in new[] { (HttpMethod.Post, "/api/feeds", "Guarded too"), (HttpMethod.Put, $"/api/feeds/{id}", "Guarded") })
            {
                var (status, body) = await SendAsync(method, path, new { Name = name, Location = location, Username = "builder" });

                status.ShouldBe(HttpStatusCode.BadRequest, $"{method} {location}: {body}");
                var error = JsonDocument.Parse(body).RootElement.GetProperty("Error").GetString()!;
                error.ShouldContain("Username", customMessage: location);
                error.ShouldContain("NewPassword", customMessage: location);
                body.ShouldNotContain(Token);
            }
        }

        (await FeedsAsync()).ShouldBe(before, "nothing was stored");
        var refusals = LocationsWithCredentials.Length * 2;
        var events = await _server.AuditEventsAsync(all => all.Count(e => e.GetProperty("Event").GetString() == "Abandon") == refusals);
        var begins = events.Where(e => e.GetProperty("Category").GetString() == "Feed" && e.GetProperty("Event").GetString() == "Begin").ToList();
        begins.Count.ShouldBe(1 + refusals);
        begins[1].GetProperty("Location").GetString().ShouldBe($"https://{Address}", "the Begin, written before validation, records the location without its user information");
        AuditText().ShouldNotContain(User, Case.Insensitive);
        AuditText().ShouldNotContain(Token, Case.Insensitive);
        _server.Log.Text.ShouldNotContain(Token);
    }

    [Fact]
    public async Task A_location_without_credentials_is_stored_returned_and_audited_as_given()
    {
        const string location = "https://nuget.example.com/v3/index.json?tenant=a@b";
        var created = await SendAsync(HttpMethod.Post, "/api/feeds", new { Name = "Plain", Location = location, Username = User, NewPassword = Token });
        created.Status.ShouldBe(HttpStatusCode.Created, created.Body);
        var id = JsonDocument.Parse(created.Body).RootElement.GetProperty("Id").GetString();
        var updated = await SendAsync(HttpMethod.Put, $"/api/feeds/{id}", new { Name = "Plain", Location = "/srv/nuget/team@example", Username = User });
        updated.Status.ShouldBe(HttpStatusCode.OK, updated.Body);

        (await _server.GetJsonAsync($"/api/feeds/{id}")).GetProperty("Location").GetString().ShouldBe("/srv/nuget/team@example");
        var events = await _server.AuditEventsAsync(all => all.Count(e => e.GetProperty("Event").GetString() == "Complete" && e.GetProperty("Category").GetString() == "Feed") == 2);
        events.Where(e => e.GetProperty("Category").GetString() == "Feed" && e.GetProperty("Event").GetString() == "Complete")
            .Select(e => e.GetProperty("Location").GetString()).ShouldBe([location, "/srv/nuget/team@example"]);
        // A username given where it belongs is an audit property; only the password is never one.
        _server.Secrets.Remove(User);
        AuditText().ShouldNotContain(Token);
    }
}

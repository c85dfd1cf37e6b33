using System.Net;
using System.Net.Http.Json;
using Seq.Api.Hosting;
using Seq.Domain.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Security;

public sealed class ApiKeyAuthenticationTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    static async Task<(string Id, string Token)> CreateKeyAsync(HttpClient client, string title, string[] permissions, string? ownerId = null)
    {
        using var response = await client.PostAsJsonAsync("/api/apikeys", new { Title = title, AssignedPermissions = permissions, OwnerId = ownerId });
        var body = await TestServer.ReadAsync(response, HttpStatusCode.Created);
        return (body.GetProperty("Id").GetString()!, body.GetProperty("Token").GetString()!);
    }

    [Fact]
    public async Task A_key_sent_in_X_Seq_ApiKey_acts_with_exactly_its_permissions()
    {
        var (_, token) = await CreateKeyAsync(_server.Client, "reader", ["Read"]);
        var client = _server.ApiKeyClient(token);

        (await client.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var write = await client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "by key" });
        write.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await write.Content.ReadAsStringAsync()).ShouldContain("System");
        (await client.GetAsync("/api/users")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("not a key")]
    [InlineData("")]
    public async Task An_unknown_or_malformed_key_is_401_even_where_no_key_is_needed(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api");
        request.Headers.TryAddWithoutValidation(RequestAuthentication.ApiKeyHeader, token);
        using var response = await _server.CreateClient().SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await response.Content.ReadAsStringAsync()).ShouldBe("""{"Error":"The API key is not valid."}""");
    }

    [Fact]
    public async Task A_key_with_a_known_prefix_but_a_wrong_remainder_is_refused()
    {
        var (_, token) = await CreateKeyAsync(_server.Client, "prefix", ["Read"]);
        var forged = token[..6] + new string(token[6..].Reverse().ToArray());

        (await _server.ApiKeyClient(forged).GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_key_in_the_query_string_is_not_accepted_outside_ingestion()
    {
        var (_, token) = await CreateKeyAsync(_server.Client, "query", ["Read"]);

        (await _server.CreateClient().GetAsync($"/api/settings?apiKey={token}")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Two_api_key_header_lines_are_refused_as_such_even_when_both_carry_a_valid_key()
    {
        // HttpClient would join two values into one line (one malformed key); two lines need a raw request.
        var (_, token) = await CreateKeyAsync(_server.Client, "twice", ["Read"]);
        var head = $"GET /api/settings HTTP/1.1\r\nHost: {_server.Address.Authority}\r\nConnection: close\r\n";

        var twice = await RawHttp.SendAsync(_server.Address, head + $"{RequestAuthentication.ApiKeyHeader}: {token}\r\n{RequestAuthentication.ApiKeyHeader}: {token}");

        twice.Status.ShouldBe(401);
        System.Text.Json.JsonDocument.Parse(twice.Body).RootElement.GetProperty("Error").GetString().ShouldBe("Send one API key, in one X-Seq-ApiKey header.");
        (await RawHttp.SendAsync(_server.Address, head + $"{RequestAuthentication.ApiKeyHeader}: {token}")).Status.ShouldBe(200);
    }

    [Fact]
    public async Task A_deleted_key_stops_working_before_the_delete_returns()
    {
        var (id, token) = await CreateKeyAsync(_server.Client, "doomed", ["Read"]);
        var client = _server.ApiKeyClient(token);
        (await client.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await _server.Client.DeleteAsync($"/api/apikeys/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await client.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_personal_key_loses_a_permission_the_moment_its_owner_does()
    {
        var username = $"owner-{Guid.NewGuid():N}"[..16];
        var ownerId = await _server.CreateUserAsync(username, "owner-password-1", BuiltInRoles.ProjectOwner.Id);
        var owner = await _server.LoginAsync(username, "owner-password-1");
        var (_, token) = await CreateKeyAsync(owner, "personal", ["Read", "Write"], ownerId);
        var key = _server.ApiKeyClient(token);
        (await key.GetAsync("/api/apikeys")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await key.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/users/current")).GetProperty("Id").GetString().ShouldBe(ownerId);

        using (var demoted = await _server.Client.PutAsJsonAsync($"/api/users/{ownerId}", new { Username = username, RoleIds = new[] { BuiltInRoles.UserReadOnly.Id } }))
            demoted.StatusCode.ShouldBe(HttpStatusCode.OK);

        (await key.GetAsync("/api/apikeys")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await key.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);

        using (var stripped = await _server.Client.PutAsJsonAsync($"/api/users/{ownerId}", new { Username = username, RoleIds = Array.Empty<string>() }))
            stripped.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await key.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        (await _server.Client.DeleteAsync($"/api/users/{ownerId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await key.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Nobody_can_give_a_key_a_permission_they_do_not_hold()
    {
        var username = $"limited-{Guid.NewGuid():N}"[..18];
        var userId = await _server.CreateUserAsync(username, "limited-password-1", BuiltInRoles.UserReadWrite.Id);
        var user = await _server.LoginAsync(username, "limited-password-1");

        using var refused = await user.PostAsJsonAsync("/api/apikeys", new { Title = "escalate", AssignedPermissions = new[] { "System" }, OwnerId = userId });
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("System");
        using var shared = await user.PostAsJsonAsync("/api/apikeys", new { Title = "shared", AssignedPermissions = new[] { "Read" } });
        shared.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }
}

using System.Net;
using System.Net.Http.Json;
using Seq.Api.Hosting;
using Seq.Domain.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class TrustedProxyTests : IDisposable
{
    readonly TestPaths _paths = new();

    public void Dispose() => _paths.Dispose();

    string NewAuditDirectory() => _paths.New("proxy");

    static HttpRequestMessage Login(string username, string password, string forwardedFor)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/login") { Content = JsonContent.Create(new { Username = username, Password = password }) };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        request.Headers.Add("X-Forwarded-Proto", "https");
        return request;
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_the_clients_address_and_https_come_from_its_headers()
    {
        await using var server = await TestServer.StartAsync(o => o with { TrustedProxies = ["127.0.0.1"], Audit = new AuditOptions(NewAuditDirectory(), null, null) });

        using var response = await server.CreateClient().SendAsync(Login("admin", TestServer.AdminPassword, "203.0.113.9"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RequestAuthentication.SessionCookie, StringComparison.Ordinal)).ShouldContain("secure", Case.Insensitive);
        var begin = server.AuditEvents().Last(e => e.GetProperty("Operation").GetString() == "LocalLogin" && e.GetProperty("Event").GetString() == "Begin");
        begin.GetProperty("RemoteIPAddress").GetString().ShouldBe("203.0.113.9");
        begin.GetProperty("XForwardedFor").EnumerateArray().Select(v => v.GetString()).ShouldBe(["203.0.113.9"]);
    }

    [Fact]
    public async Task Without_a_trusted_proxy_forwarded_headers_are_recorded_but_not_believed()
    {
        await using var server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(NewAuditDirectory(), null, null) });

        using var response = await server.CreateClient().SendAsync(Login("admin", TestServer.AdminPassword, "203.0.113.9"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RequestAuthentication.SessionCookie, StringComparison.Ordinal)).ShouldNotContain("secure", Case.Insensitive);
        var begin = server.AuditEvents().Last(e => e.GetProperty("Operation").GetString() == "LocalLogin" && e.GetProperty("Event").GetString() == "Begin");
        begin.GetProperty("RemoteIPAddress").GetString().ShouldBe("127.0.0.1");
        begin.GetProperty("XForwardedFor").EnumerateArray().Select(v => v.GetString()).ShouldBe(["203.0.113.9"]);
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_login_throttling_counts_each_client_address_on_its_own()
    {
        await using var server = await TestServer.StartAsync(o => o with { TrustedProxies = ["127.0.0.1"] });
        await server.CreateUserAsync("proxied-user", "proxied-password-1", BuiltInRoles.UserReadOnly.Id);
        var client = server.CreateClient();

        // Twenty failures from one address are forgiven; the twenty-first blocks it.
        for (var i = 0; i < 21; i++)
            (await client.SendAsync(Login($"guess-{i}", "wrong-password", "198.51.100.1"))).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        (await client.SendAsync(Login("proxied-user", "proxied-password-1", "198.51.100.1"))).StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        (await client.SendAsync(Login("proxied-user", "proxied-password-1", "198.51.100.2"))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

using System.Net;
using System.Net.Http.Json;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class SecurityHeaderTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(loginAsAdmin: false);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    static void ShouldCarryTheSecurityHeaders(HttpResponseMessage response)
    {
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        csp.ShouldContain("default-src 'self'");
        csp.ShouldContain("script-src 'self'");
        csp.ShouldContain("frame-ancestors 'none'");
        csp.ShouldNotContain("unsafe-inline");
        csp.ShouldNotContain("unsafe-eval");
        response.Headers.GetValues("X-Content-Type-Options").Single().ShouldBe("nosniff");
        response.Headers.GetValues("Referrer-Policy").Single().ShouldBe("no-referrer");
        response.Headers.GetValues("Cross-Origin-Opener-Policy").Single().ShouldBe("same-origin");
        response.Headers.GetValues("X-Frame-Options").Single().ShouldBe("DENY");
        response.Headers.Contains("Server").ShouldBeFalse();
        // Over plain HTTP a browser ignores it, and a client that only ever spoke plain HTTP must not be told to stop.
        response.Headers.Contains("Strict-Transport-Security").ShouldBeFalse();
    }

    [Theory]
    [InlineData("/api", HttpStatusCode.OK)]
    [InlineData("/health", HttpStatusCode.OK)]
    [InlineData("/robots.txt", HttpStatusCode.OK)]
    [InlineData("/no/such/resource", HttpStatusCode.NotFound)]
    [InlineData("/api/settings", HttpStatusCode.Unauthorized)]
    public async Task Every_kind_of_response_carries_the_security_headers(string path, HttpStatusCode expected)
    {
        using var response = await _server.CreateClient().GetAsync(path);

        response.StatusCode.ShouldBe(expected);
        ShouldCarryTheSecurityHeaders(response);
    }

    [Fact]
    public async Task A_static_file_is_served_with_its_own_type_and_the_security_headers()
    {
        using var response = await _server.CreateClient().GetAsync("/robots.txt");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/plain");
        (await response.Content.ReadAsStringAsync()).ShouldContain("Disallow: /");
        ShouldCarryTheSecurityHeaders(response);
    }

    [Fact]
    public async Task An_error_mapped_from_an_exception_keeps_the_security_headers()
    {
        // The error mapping clears the response it replaces; the headers must survive that.
        using var response = await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = "nobody", Password = "wrong-password" });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("\"Error\"");
        ShouldCarryTheSecurityHeaders(response);
    }

    [Fact]
    public async Task A_method_the_resource_does_not_support_is_answered_with_the_security_headers()
    {
        using var response = await _server.CreateClient().DeleteAsync("/health");

        response.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        ShouldCarryTheSecurityHeaders(response);
    }

    [Fact]
    public async Task A_request_Kestrel_refuses_by_itself_still_gets_the_security_headers()
    {
        var response = await RawHttp.SendAsync(_server.Address, $"GET /api/%00 HTTP/1.1\r\nHost: {_server.Address.Authority}");

        response.Status.ShouldBe(400);
        response.Headers["Content-Security-Policy"].ShouldContain("frame-ancestors 'none'");
        response.Headers["X-Content-Type-Options"].ShouldBe("nosniff");
        response.Headers["Referrer-Policy"].ShouldBe("no-referrer");
        response.Headers["Cross-Origin-Opener-Policy"].ShouldBe("same-origin");
        response.Headers["X-Frame-Options"].ShouldBe("DENY");
        response.Headers.ContainsKey("Server").ShouldBeFalse();
    }
}

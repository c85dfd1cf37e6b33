using System.Net;
using System.Net.Http.Json;
using Seq.Api.Hosting;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Security;

/// <summary>How <see cref="RequestAuthentication"/> treats a session cookie it cannot use, and the requests that ignore one.</summary>
public sealed class SessionCookieTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(loginAsAdmin: false);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    HttpClient WithCookie(string value)
    {
        var client = _server.CreateClient();
        client.DefaultRequestHeaders.Add("Cookie", $"{RequestAuthentication.SessionCookie}={value}");
        return client;
    }

    static string? SessionCookieSet(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var cookies)
            ? cookies.SingleOrDefault(c => c.StartsWith(RequestAuthentication.SessionCookie + "=", StringComparison.Ordinal))
            : null;

    [Fact]
    public async Task A_session_cookie_the_server_does_not_know_is_answered_as_anonymous_and_expired_on_the_client_even_when_refused_and_an_empty_one_is_ignored()
    {
        using var served = await WithCookie("not-a-session-token").GetAsync("/api");
        served.StatusCode.ShouldBe(HttpStatusCode.OK);
        SessionCookieSet(served).ShouldNotBeNull().ShouldStartWith($"{RequestAuthentication.SessionCookie}=;");

        // Refused as anonymous: the error body replaces the response, but the cookie is still ended.
        using var unknown = await WithCookie("not-a-session-token").GetAsync("/api/users/current");

        unknown.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var expired = SessionCookieSet(unknown).ShouldNotBeNull();
        expired.ShouldStartWith($"{RequestAuthentication.SessionCookie}=;");
        expired.ShouldContain("expires=Thu, 01 Jan 1970", Case.Insensitive);
        expired.ShouldContain("path=/", Case.Insensitive);
        expired.ShouldContain("samesite=strict", Case.Insensitive);
        expired.ShouldContain("httponly", Case.Insensitive);
        // Over plain HTTP the cookie cannot be marked secure, or the browser would never send it back.
        expired.ShouldNotContain("secure", Case.Insensitive);

        using var empty = await WithCookie("").GetAsync("/api/users/current");
        empty.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        SessionCookieSet(empty).ShouldBeNull();

        // The health probe ignores sessions altogether: it neither reads the cookie nor answers it.
        using var health = await WithCookie("not-a-session-token").GetAsync("/health");
        health.StatusCode.ShouldBe(HttpStatusCode.OK);
        SessionCookieSet(health).ShouldBeNull();
    }

    [Fact]
    public async Task A_login_from_a_client_that_still_holds_a_session_cookie_needs_no_csrf_token_and_a_read_needs_none_either()
    {
        var client = _server.CreateClient();
        (await client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = TestServer.AdminPassword })).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The cookie is sent, the token is not: a login does not act as the session, so it cannot be forged through it.
        using var again = await client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = TestServer.AdminPassword });
        again.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync("/api/users/current")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Without_authentication_an_anonymous_caller_acts_with_every_permission()
    {
        await using var open = await TestServer.StartAsync(o => o with { FirstRun = new FirstRunOptions(NoAuthentication: true) }, loginAsAdmin: false);

        (await open.CreateClient().GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _server.CreateClient().GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}

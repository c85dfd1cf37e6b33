using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Seq.Api.Endpoints;
using Seq.Domain.Security;
using Seq.Tests.Support;
using Xunit.Abstractions;

namespace Seq.Tests.Security;

/// <summary>
/// Every endpoint of the running server, called by every kind of caller: anonymous, a user of each built-in role
/// (by session cookie), and an API key holding each single permission. The expected answer comes from the
/// permission the endpoint declares, so an endpoint added later is covered without anyone remembering to add it.
/// </summary>
public sealed class AuthorizationMatrixTests(ITestOutputHelper output) : IAsyncLifetime
{
    sealed record Caller(string Name, HttpClient Client, IReadOnlySet<Permission> Permissions, bool IsUser, bool IsAnonymous = false);

    sealed record Call(string Method, string Path, DemandsPermission Demand);

    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Every_endpoint_answers_every_caller_as_its_declared_permission_requires()
    {
        var callers = await CallersAsync();
        var calls = LiveCalls();
        calls.Count.ShouldBeGreaterThan(25);

        var failures = new List<string>();
        var checkedCount = 0;
        foreach (var call in calls)
        {
            foreach (var caller in callers)
            {
                using var response = await SendAsync(caller.Client, call);
                var status = (int)response.StatusCode;
                var allowed = caller.Permissions.Contains(call.Demand.Permission) && (!call.Demand.User || caller.IsUser);
                var denial = caller.IsAnonymous ? 401 : 403;
                var expectation = allowed ? "not 401/403, below 500" : denial.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var ok = allowed ? status is not (401 or 403) && status < 500 : status == denial;
                checkedCount++;
                if (!ok)
                    failures.Add($"{call.Method} {call.Path} as {caller.Name}: {status}, expected {expectation}: {await response.Content.ReadAsStringAsync()}");
            }
        }

        output.WriteLine($"{calls.Count} endpoint methods × {callers.Count} callers = {checkedCount} requests");
        failures.ShouldBeEmpty(string.Join('\n', failures));
    }

    [Fact]
    public async Task Every_state_changing_method_of_every_endpoint_refuses_a_session_cookie_without_its_csrf_token()
    {
        // The administrator holds every permission, so a 403 here can only be the CSRF check.
        var noToken = _server.CreateClient();
        (await noToken.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = TestServer.AdminPassword })).EnsureSuccessStatusCode();
        var wrongToken = await _server.LoginAsync("admin", TestServer.AdminPassword);
        var realToken = wrongToken.DefaultRequestHeaders.GetValues(Seq.Api.Hosting.RequestAuthentication.CsrfHeader).Single();
        wrongToken.DefaultRequestHeaders.Remove(Seq.Api.Hosting.RequestAuthentication.CsrfHeader);
        // Same length, last character changed: a check that compares only a prefix or only the length lets it through.
        var forged = realToken[..^1] + (realToken[^1] == 'A' ? 'B' : 'A');
        wrongToken.DefaultRequestHeaders.Add(Seq.Api.Hosting.RequestAuthentication.CsrfHeader, forged);

        var endpoints = _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        var calls = LiveCalls()
            .Where(call => call.Method is not ("GET" or "HEAD" or "OPTIONS"))
            .Where(call => !endpoints.Any(e => "/" + FillParameters(e.RoutePattern.RawText!.TrimStart('/')) == call.Path
                && e.Metadata.GetMetadata<IgnoresSession>() is not null))
            .ToList();
        // Every state-changing method the server maps is probed, not only POST and PUT.
        var mapped = endpoints.SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Where(m => m is not ("GET" or "HEAD" or "OPTIONS")).ToHashSet();
        calls.Select(call => call.Method).ToHashSet().SetEquals(mapped).ShouldBeTrue();
        mapped.ShouldContain("DELETE");

        var failures = new List<string>();
        foreach (var call in calls)
        {
            foreach (var (name, client) in new[] { ("no token", noToken), ("a forged token", wrongToken) })
            {
                using var response = await SendAsync(client, call);
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.Forbidden || !body.Contains(Seq.Api.Hosting.RequestAuthentication.CsrfHeader, StringComparison.Ordinal))
                    failures.Add($"{call.Method} {call.Path} with the cookie and {name}: {(int)response.StatusCode} {body}");
            }
        }
        output.WriteLine($"{calls.Count} state-changing endpoint methods probed: {string.Join(", ", calls.Select(c => c.Method + " " + c.Path))}");
        failures.ShouldBeEmpty(string.Join('\n', failures));

        // The sessions were not ended by the refused logout: with the real token the same cookie still works.
        wrongToken.DefaultRequestHeaders.Remove(Seq.Api.Hosting.RequestAuthentication.CsrfHeader);
        wrongToken.DefaultRequestHeaders.Add(Seq.Api.Hosting.RequestAuthentication.CsrfHeader, realToken);
        using var accepted = await wrongToken.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "csrf probe" });
        accepted.StatusCode.ShouldBe(HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync());
    }

    /// <summary>The live endpoint list, with route parameters filled by a value that names nothing. Logout goes last: it ends the caller's session.</summary>
    List<Call> LiveCalls() =>
    [
        .. _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => new Call(method, "/" + FillParameters(endpoint.RoutePattern.RawText!.TrimStart('/')),
                    endpoint.Metadata.GetMetadata<DemandsPermission>()!)))
            .OrderBy(call => call.Path.EndsWith("/logout", StringComparison.Ordinal))
            .ThenBy(call => call.Path, StringComparer.Ordinal).ThenBy(call => call.Method, StringComparer.Ordinal),
    ];

    static string FillParameters(string pattern) =>
        System.Text.RegularExpressions.Regex.Replace(pattern, @"\{[^}]+\}", "matrix-probe-0");

    static Task<HttpResponseMessage> SendAsync(HttpClient client, Call call)
    {
        var request = new HttpRequestMessage(new HttpMethod(call.Method), call.Path);
        if (call.Method is "POST" or "PUT" or "PATCH")
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        return client.SendAsync(request);
    }

    async Task<List<Caller>> CallersAsync()
    {
        var callers = new List<Caller> { new("anonymous", _server.CreateClient(), new HashSet<Permission> { Permission.Public }, false, IsAnonymous: true) };
        foreach (var role in BuiltInRoles.All)
        {
            var username = $"matrix-{role.Id}";
            await _server.CreateUserAsync(username, "matrix-password-1", role.Id);
            callers.Add(new Caller(role.Title, await _server.LoginAsync(username, "matrix-password-1"), role.Permissions, true));
        }

        foreach (var permission in Enum.GetValues<Permission>())
        {
            using var created = await _server.Client.PostAsJsonAsync("/api/apikeys",
                new { Title = $"matrix {permission}", AssignedPermissions = new[] { permission.ToString() } });
            var token = (await TestServer.ReadAsync(created, HttpStatusCode.Created)).GetProperty("Token").GetString()!;
            callers.Add(new Caller($"API key with {permission}", _server.ApiKeyClient(token), new HashSet<Permission> { Permission.Public, permission }, false));
        }
        return callers;
    }
}

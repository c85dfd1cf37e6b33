using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using System.Text;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class HostileInputTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    static IEnumerable<(string Name, HttpContent Content)> Bodies()
    {
        yield return ("empty", new StringContent("", Encoding.UTF8, "application/json"));
        yield return ("null", new StringContent("null", Encoding.UTF8, "application/json"));
        yield return ("truncated", new StringContent("{\"Name\": \"x", Encoding.UTF8, "application/json"));
        yield return ("wrong types", new StringContent("""{"Name": {"a": [1]}, "Location": true, "Value": [1, {"b": null}]}""", Encoding.UTF8, "application/json"));
        yield return ("object value", new StringContent("""{"Value": {"nested": "object"}}""", Encoding.UTF8, "application/json"));
        yield return ("deeply nested", new StringContent(new string('[', 100_000) + new string(']', 100_000), Encoding.UTF8, "application/json"));
        yield return ("huge string", new StringContent($$"""{"Name": "{{new string('x', 400_000)}}", "Location": "/srv", "Value": "{{new string('y', 400_000)}}"}""", Encoding.UTF8, "application/json"));
        yield return ("invalid UTF-8", new ByteArrayContent([0x7B, 0x22, 0x4E, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0xFF, 0x22, 0x7D]) { Headers = { { "Content-Type", "application/json" } } });
        yield return ("not JSON content type", new StringContent("""{"Value": "x"}""", Encoding.UTF8, "text/plain"));
        yield return ("control characters", new StringContent("{\"Name\": \"a\\u0000b\", \"Location\": \"/srv\\u0007\", \"Value\": \"t\\u0000\"}", Encoding.UTF8, "application/json"));
    }

    [Fact]
    public async Task No_request_body_to_any_state_changing_endpoint_produces_a_500_and_none_changes_anything()
    {
        var before = await StateAsync();
        // Every endpoint that takes a body, from the live list, so that a new one is covered without being listed here.
        var targets = _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => !e.RoutePattern.RawText!.EndsWith("/logout", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Where(m => m is "POST" or "PUT")
                .Select(m => (new HttpMethod(m), "/" + Regex.Replace(e.RoutePattern.RawText!.TrimStart('/'), @"\{[^}]+\}", "setting-InstanceTitle"))))
            .ToList();
        targets.Count.ShouldBeGreaterThan(8);

        foreach (var (method, path) in targets)
        {
            foreach (var (name, content) in Bodies())
            {
                using var request = new HttpRequestMessage(method, path) { Content = content };
                using var response = await _server.Client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();

                ((int)response.StatusCode).ShouldBeInRange(400, 499, $"{method} {path} with {name}: {body}");
                body.ShouldContain("\"Error\"", customMessage: $"{method} {path} with {name}");
            }
        }

        (await StateAsync()).ShouldBe(before);
    }

    async Task<string> StateAsync()
    {
        var state = "";
        foreach (var path in new[] { "/api/settings", "/api/feeds", "/api/users", "/api/apikeys" })
            state += (await _server.GetJsonAsync(path)).GetRawText();
        return state;
    }
}

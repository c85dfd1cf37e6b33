using System.Net;
using System.Net.Http.Json;
using System.Text;
using Seq.Api.Hosting;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class RequestLimitTests
{
    [Fact]
    public async Task A_body_over_the_limit_is_413_with_an_error_body_and_creates_nothing()
    {
        await using var server = await TestServer.StartAsync();
        var json = $$"""{"Username": "big", "NewPassword": "big-password-1", "DisplayName": "{{new string('x', 2 * 1024 * 1024)}}"}""";

        // With Expect: 100-continue the client waits for the server's verdict before uploading, so the refusal is
        // read cleanly instead of racing the upload of a body the server will not read.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        using var response = await server.Client.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await response.Content.ReadAsStringAsync()).ShouldBe("""{"Error":"The request body is too large."}""");
        (await server.GetJsonAsync("/api/users")).EnumerateArray().Select(u => u.GetProperty("Username").GetString()).ShouldBe(["admin"]);
    }

    [Fact]
    public async Task Writes_beyond_an_addresss_allowance_are_429_while_reads_carry_on()
    {
        await using var server = await TestServer.StartAsync(o => o with { Limits = new RequestLimits(1024 * 1024, 1, 3) });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = $"title {i}" });
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                response.Headers.RetryAfter.ShouldNotBeNull();
                (await response.Content.ReadAsStringAsync()).ShouldContain("Too many requests");
            }
        }

        statuses.ShouldContain(HttpStatusCode.OK);
        statuses.ShouldContain(HttpStatusCode.TooManyRequests);
        (await server.Client.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

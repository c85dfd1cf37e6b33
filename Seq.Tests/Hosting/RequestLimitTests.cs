using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Http;
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

    static void ShouldBeAnError(RawHttp.Response response, int status)
    {
        response.Status.ShouldBe(status, response.Body);
        response.Headers["Content-Type"].ShouldStartWith("application/json");
        System.Text.Json.JsonDocument.Parse(response.Body).RootElement.GetProperty("Error").GetString().ShouldNotBeNullOrWhiteSpace();
    }

    static byte[] Chunked(IEnumerable<byte[]> chunks) =>
        [.. chunks.SelectMany(chunk => (byte[])[.. Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n"), .. chunk, .. "\r\n"u8])];

    [Theory]
    [InlineData("well-formed")]
    [InlineData("malformed")]
    public async Task A_chunked_body_over_the_limit_is_413_with_an_error_body_however_its_JSON_goes_wrong(string shape)
    {
        await using var server = await TestServer.StartAsync(o => o with { Limits = o.Limits with { MaximumBodyBytes = 256 * 1024 } }, loginAsAdmin: false);
        var json = Encoding.UTF8.GetBytes(shape == "well-formed"
            ? $$"""{"Username": "big", "Password": "{{new string('x', 1024 * 1024)}}"}"""
            : "[" + new string('x', 1024 * 1024));

        // A slow client: the body's first 16 KB, then the rest only if the server has not answered meanwhile. Without
        // a length up front, a server that parses as it reads would find a malformed body bad (400) before it found
        // it too long; the limit must come first, as it does for a body with a Content-Length.
        var response = await RawHttp.SendSlowlyAsync(server.Address,
            $"POST /api/users/login HTTP/1.1\r\nHost: {server.Address.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked",
            Chunked([json[..(16 * 1024)]]), [.. Chunked(json[(16 * 1024)..].Chunk(16 * 1024)), .. "0\r\n\r\n"u8], TimeSpan.FromSeconds(1));

        ShouldBeAnError(response, StatusCodes.Status413PayloadTooLarge);
    }

    [Fact]
    public async Task Requests_the_web_server_refuses_before_routing_get_an_error_body()
    {
        await using var server = await TestServer.StartAsync(loginAsAdmin: false);
        var host = $"Host: {server.Address.Authority}";

        ShouldBeAnError(await RawHttp.SendAsync(server.Address, $"GET /api/%00 HTTP/1.1\r\n{host}"), StatusCodes.Status400BadRequest);
        ShouldBeAnError(await RawHttp.SendAsync(server.Address, $"GET /api/users/{new string('a', 70 * 1024)} HTTP/1.1\r\n{host}"), StatusCodes.Status414UriTooLong);
        ShouldBeAnError(await RawHttp.SendAsync(server.Address,
            $"GET /api HTTP/1.1\r\n{host}\r\n" + string.Join("\r\n", Enumerable.Range(0, 200).Select(i => $"X-Header-{i}: {i}"))), StatusCodes.Status431RequestHeaderFieldsTooLarge);
        ShouldBeAnError(await RawHttp.SendAsync(server.Address,
            $"GET /api HTTP/1.1\r\n{host}\r\nX-Forwarded-For: {new string('1', 40 * 1024)}"), StatusCodes.Status431RequestHeaderFieldsTooLarge);
        ShouldBeAnError(await RawHttp.SendAsync(server.Address, "GET /api HTTP/1.1\r\nHost: a\r\nHost: b"), StatusCodes.Status400BadRequest);
        ShouldBeAnError(await RawHttp.SendAsync(server.Address, $"GET /api HTTP/1.2\r\n{host}"), StatusCodes.Status505HttpVersionNotsupported);
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

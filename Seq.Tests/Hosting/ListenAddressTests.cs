using System.Net;
using System.Net.Http.Json;
using Seq.Api.Hosting;
using Seq.Infrastructure.Configuration;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

/// <summary>The addresses <see cref="Listeners"/> binds, what it says of each at start-up, and which proxies <see cref="SeqServer"/> believes.</summary>
public sealed class ListenAddressTests
{
    const string Unencrypted = "passwords, session cookies and API keys cross the network unencrypted. Use an https:// address with api.certificatePath, or a TLS proxy in front (api.trustedProxies)";
    const string LocalOrProxied = "over plain HTTP: not encrypted, for local development or behind a TLS proxy";

    [Theory]
    [InlineData("ftp://127.0.0.1:0", "must be an http:// or https:// address")]
    [InlineData("127.0.0.1:5341", "is not an address to listen on")]
    public async Task An_address_that_is_not_http_or_https_stops_the_start_with_a_message_naming_it(string address, string expected)
    {
        var problem = await Should.ThrowAsync<HostConfigurationException>(() => TestServer.StartAsync(o => o with { ListenUris = [address] }));

        problem.Message.ShouldContain(address);
        problem.Message.ShouldContain(expected);
    }

    [Fact]
    public async Task Plain_http_off_loopback_is_warned_about_unless_a_trusted_proxy_terminates_tls_and_loopback_is_not()
    {
        await using (var exposed = await TestServer.StartAsync(o => o with { ListenUris = ["http://0.0.0.0:0", "http://*:0"] }, loginAsAdmin: false))
        {
            exposed.Log.Text.ShouldContain($"Listening on \"http://0.0.0.0:0\" (\"the API\") over plain HTTP: {Unencrypted}");
            exposed.Log.Text.ShouldContain($"Listening on \"http://*:0\" (\"the API\") over plain HTTP: {Unencrypted}");
        }

        await using (var proxied = await TestServer.StartAsync(o => o with { ListenUris = ["http://0.0.0.0:0"], TrustedProxies = ["10.1.2.3"] }, loginAsAdmin: false))
        {
            proxied.Log.Text.ShouldContain($"Listening on \"http://0.0.0.0:0\" (\"the API\") {LocalOrProxied}");
            proxied.Log.Text.ShouldNotContain(Unencrypted);
        }

        await using (var local = await TestServer.StartAsync(o => o with { IngestionListenUris = ["http://127.0.0.1:0"] }, loginAsAdmin: false))
        {
            local.Log.Text.ShouldContain($"Listening on \"http://127.0.0.1:0\" (\"the API\") {LocalOrProxied}");
            local.Log.Text.ShouldContain($"Listening on \"http://127.0.0.1:0\" (\"event ingestion only\") {LocalOrProxied}");
            local.Log.Text.ShouldNotContain(Unencrypted);
        }
    }

    static async Task<bool> BelievesForwardedHttpsAsync(TestServer server)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/login")
        {
            Content = JsonContent.Create(new { Username = "admin", Password = TestServer.AdminPassword }),
        };
        request.Headers.Add("X-Forwarded-For", "203.0.113.9");
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var response = await server.CreateClient().SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RequestAuthentication.SessionCookie, StringComparison.Ordinal))
            .Contains("secure", StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_trusted_proxy_is_an_address_or_a_network_and_an_address_trusts_that_one_host_only()
    {
        await using (var network = await TestServer.StartAsync(o => o with { TrustedProxies = ["::1", "127.0.0.0/8"] }, loginAsAdmin: false))
            (await BelievesForwardedHttpsAsync(network)).ShouldBeTrue();

        // The test client connects from 127.0.0.1: an IPv6 loopback proxy, or a neighbouring address, is not it.
        await using (var others = await TestServer.StartAsync(o => o with { TrustedProxies = ["::1", "127.0.0.2"] }, loginAsAdmin: false))
            (await BelievesForwardedHttpsAsync(others)).ShouldBeFalse();
    }

    [Fact]
    public async Task Over_ipv6_loopback_only_a_configured_proxy_is_believed_not_aspnets_default_nor_a_neighbouring_address()
    {
        // Here the test client connects from ::1. ASP.NET believes ::1 by default; this server believes only what it is
        // given, and an IPv6 proxy given without a prefix is that one host (/128), not its /32 network.
        await using (var itself = await TestServer.StartAsync(o => o with { ListenUris = ["http://[::1]:0"], TrustedProxies = ["::1"] }, loginAsAdmin: false))
            (await BelievesForwardedHttpsAsync(itself)).ShouldBeTrue();

        await using (var neighbour = await TestServer.StartAsync(o => o with { ListenUris = ["http://[::1]:0"], TrustedProxies = ["::2"] }, loginAsAdmin: false))
            (await BelievesForwardedHttpsAsync(neighbour)).ShouldBeFalse();
    }
}

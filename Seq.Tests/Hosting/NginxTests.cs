using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Seq.Api.Hosting;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

/// <summary>
/// deploy/nginx.conf in Debian's nginx, terminating TLS in front of a server that trusts it. The client connects from
/// 127.0.0.2 so that its address differs from the proxy's (127.0.0.1).
/// </summary>
public sealed class NginxTests : IAsyncLifetime
{
    static readonly IPAddress ClientAddress = IPAddress.Parse("127.0.0.2");

    readonly TestPaths _paths = new();
    readonly X509Certificate2 _certificate = TestCertificates.CreateForLoopback();
    TestServer _server = null!;
    NginxProxy _nginx = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o => o with { TrustedProxies = ["127.0.0.1"], Audit = new AuditOptions(_paths.New("nginx-audit"), null, null) },
            loginAsAdmin: false);
        _nginx = await NginxProxy.StartAsync(_server.Address, _certificate, _paths.New("nginx"));
    }

    public async Task DisposeAsync()
    {
        await _nginx.DisposeAsync();
        await _server.DisposeAsync();
        _certificate.Dispose();
        _paths.Dispose();
    }

    /// <summary>A client whose connections come from <see cref="ClientAddress"/> and that trusts the test certificate.</summary>
    HttpClient ClientFrom127002(Uri baseAddress)
    {
        var handler = TestCertificates.Trusting(_certificate);
        handler.AllowAutoRedirect = false;
        handler.ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(ClientAddress, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
        return new HttpClient(handler) { BaseAddress = baseAddress };
    }

    static HttpRequestMessage Login(string forwardedFor)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/login")
        {
            Content = JsonContent.Create(new { Username = "admin", Password = TestServer.AdminPassword }),
        };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        request.Headers.Add("X-Forwarded-Proto", "https");
        return request;
    }

    async Task<JsonElement> LoginBeginAsync(int count) =>
        (await _server.AuditEventsAsync(events => events.Count(IsLoginBegin) >= count)).Where(IsLoginBegin).ElementAt(count - 1);

    static bool IsLoginBegin(JsonElement e) => e.GetProperty("Operation").GetString() == "LocalLogin" && e.GetProperty("Event").GetString() == "Begin";

    [Fact]
    public async Task Through_nginx_an_audited_login_records_the_clients_address_and_the_header_nginx_set()
    {
        using var client = ClientFrom127002(_nginx.HttpsAddress);

        // What the client claims is replaced by what nginx saw.
        using var response = await client.SendAsync(Login("203.0.113.9"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK, _nginx.ErrorLog);
        response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RequestAuthentication.SessionCookie, StringComparison.Ordinal))
            .ShouldContain("secure", Case.Insensitive);
        response.Headers.GetValues("Strict-Transport-Security").ShouldBe(["max-age=31536000"]);
        response.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("frame-ancestors 'none'");
        // nginx names itself (without a version); nothing names the server behind it.
        string.Join(" ", response.Headers.TryGetValues("Server", out var server) ? server : []).ShouldNotMatch(@"\d|Kestrel|seq");

        var begin = await LoginBeginAsync(1);
        begin.GetProperty("RemoteIPAddress").GetString().ShouldBe("127.0.0.2");
        begin.GetProperty("XForwardedFor").EnumerateArray().Select(v => v.GetString()).ShouldBe(["127.0.0.2"]);
    }

    [Fact]
    public async Task The_same_headers_sent_straight_to_the_server_by_an_untrusted_client_change_nothing()
    {
        using var client = ClientFrom127002(_server.Address);

        using var response = await client.SendAsync(Login("203.0.113.9"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RequestAuthentication.SessionCookie, StringComparison.Ordinal))
            .ShouldNotContain("secure", Case.Insensitive);
        response.Headers.Contains("Strict-Transport-Security").ShouldBeFalse();
        var begin = await LoginBeginAsync(1);
        begin.GetProperty("RemoteIPAddress").GetString().ShouldBe("127.0.0.2");
        // Recorded as the client sent it, and not believed.
        begin.GetProperty("XForwardedFor").EnumerateArray().Select(v => v.GetString()).ShouldBe(["203.0.113.9"]);
    }

    [Fact]
    public async Task Plain_http_to_nginx_is_only_redirected_to_https()
    {
        using var client = ClientFrom127002(_nginx.HttpAddress);

        using var response = await client.SendAsync(Login("203.0.113.9"));

        response.StatusCode.ShouldBe(HttpStatusCode.MovedPermanently);
        response.Headers.Location!.Scheme.ShouldBe("https");
        response.Headers.Location.PathAndQuery.ShouldBe("/api/users/login");
        response.Headers.Contains("Set-Cookie").ShouldBeFalse();
    }

    [Fact]
    public async Task A_body_over_the_servers_limit_is_refused_by_nginx_before_it_reaches_the_server()
    {
        using var client = ClientFrom127002(_nginx.HttpsAddress);
        using var content = new ByteArrayContent(new byte[(int)RequestLimits.Default.MaximumBodyBytes + 1]);
        content.Headers.ContentType = new("application/json");

        using var response = await client.PostAsync("/api/users/login", content);

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        _server.AuditEvents().ShouldNotContain(e => IsLoginBegin(e));
    }
}

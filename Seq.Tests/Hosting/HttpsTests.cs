using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Seq.Api.Hosting;
using Seq.Infrastructure.Configuration;
using Seq.Tests.Cli;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class HttpsTests : IDisposable
{
    readonly TestPaths _paths = new();
    readonly X509Certificate2 _certificate = TestCertificates.CreateForLoopback();

    public void Dispose()
    {
        _certificate.Dispose();
        _paths.Dispose();
    }

    [Fact]
    public async Task Over_https_login_works_the_session_cookie_is_secure_and_HSTS_is_sent()
    {
        await using var server = await TestServer.StartAsync(o => o with { ListenUris = ["https://127.0.0.1:0"], Certificate = _certificate }, loginAsAdmin: false);
        server.Address.Scheme.ShouldBe("https");

        using var login = await server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = TestServer.AdminPassword });

        login.StatusCode.ShouldBe(HttpStatusCode.OK);
        var cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RequestAuthentication.SessionCookie, StringComparison.Ordinal));
        cookie.ShouldContain("secure", Case.Insensitive);
        cookie.ShouldContain("httponly", Case.Insensitive);
        login.Headers.GetValues("Strict-Transport-Security").Single().ShouldBe("max-age=31536000");

        var client = await server.LoginAsync("admin", TestServer.AdminPassword);
        using var settings = await client.GetAsync("/api/settings");
        settings.StatusCode.ShouldBe(HttpStatusCode.OK);
        foreach (var path in new[] { "/health", "/no/such/resource" })
        {
            using var response = await client.GetAsync(path);
            response.Headers.GetValues("Strict-Transport-Security").Single().ShouldBe("max-age=31536000");
            response.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("default-src 'self'");
        }
    }

    [Fact]
    public async Task Plain_http_sent_to_an_https_only_address_is_never_served()
    {
        await using var server = await TestServer.StartAsync(o => o with { ListenUris = ["https://127.0.0.1:0"], Certificate = _certificate }, loginAsAdmin: false);

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Address.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /health HTTP/1.1\r\nHost: {server.Address.Authority}\r\nConnection: close\r\n\r\n"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, timeout.Token);
        }
        catch (IOException)
        {
            // A reset is as good a refusal as a close.
        }

        // The TLS layer drops what is not a TLS handshake: no HTTP response, let alone the health document.
        Encoding.ASCII.GetString(received.ToArray()).ShouldNotContain("HTTP/1.1 200");
        Encoding.ASCII.GetString(received.ToArray()).ShouldNotContain("in service");

        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Address.Port}") };
        await Should.ThrowAsync<HttpRequestException>(() => plain.GetAsync("/health"));
    }

    [Fact]
    public async Task Plain_http_and_https_can_be_served_side_by_side_and_only_https_gets_HSTS()
    {
        await using var server = await TestServer.StartAsync(
            o => o with { ListenUris = ["https://127.0.0.1:0", "http://127.0.0.1:0"], Certificate = _certificate }, loginAsAdmin: false);
        var plainAddress = server.Services.GetRequiredService<Listeners>().Addresses(ingestionOnly: false).Single(a => a.Scheme == "http");

        using var plain = new HttpClient { BaseAddress = plainAddress };
        using var response = await plain.GetAsync("/health");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.Contains("Strict-Transport-Security").ShouldBeFalse();
        var lines = server.Log.Text.Split('\n');
        lines.ShouldContain(m => m.Contains("over plain HTTP", StringComparison.Ordinal) && m.Contains("http://127.0.0.1:0", StringComparison.Ordinal));
        lines.ShouldContain(m => m.Contains("over HTTPS", StringComparison.Ordinal) && m.Contains("https://127.0.0.1:0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_https_address_without_a_certificate_stops_the_start_with_a_message_naming_the_setting()
    {
        var problem = await Should.ThrowAsync<HostConfigurationException>(() => TestServer.StartAsync(o => o with { ListenUris = ["https://127.0.0.1:0"] }));

        problem.Message.ShouldBe("'https://127.0.0.1:0' is an HTTPS address but no certificate is configured: set api.certificatePath (a PEM or PFX file), and api.certificateKeyPath for a PEM key in a file of its own.");
    }

    [Fact]
    public void The_certificate_loads_from_a_pem_certificate_with_its_key_in_a_file_of_its_own_or_in_the_same_file()
    {
        var (certificatePath, keyPath) = TestCertificates.WritePem(_certificate, _paths.New("pem"));

        using var separate = ServerCertificate.Load(certificatePath, keyPath, null);
        separate.HasPrivateKey.ShouldBeTrue();
        separate.Thumbprint.ShouldBe(_certificate.Thumbprint);

        var combined = Path.Combine(Path.GetDirectoryName(certificatePath)!, "combined.pem");
        File.WriteAllText(combined, File.ReadAllText(certificatePath) + "\n" + File.ReadAllText(keyPath));
        using var together = ServerCertificate.Load(combined, null, null);
        together.HasPrivateKey.ShouldBeTrue();

        var withoutKey = Should.Throw<HostConfigurationException>(() => ServerCertificate.Load(certificatePath, null, null));
        withoutKey.Message.ShouldContain("api.certificateKeyPath");
    }

    [Fact]
    public void A_pfx_needs_its_password_and_a_wrong_one_is_never_repeated_in_the_message()
    {
        var directory = _paths.New("pfx");
        Directory.CreateDirectory(directory);
        var pfx = Path.Combine(directory, "server.pfx");
        File.WriteAllBytes(pfx, _certificate.Export(X509ContentType.Pkcs12, "right-pfx-password"));

        using var loaded = ServerCertificate.Load(pfx, null, "right-pfx-password");
        loaded.HasPrivateKey.ShouldBeTrue();

        var wrong = Should.Throw<HostConfigurationException>(() => ServerCertificate.Load(pfx, null, "wrong-pfx-password"));
        wrong.Message.ShouldContain("api.certificatePassword");
        wrong.Message.ShouldNotContain("wrong-pfx-password");
    }

    [Fact]
    public async Task The_real_server_serves_https_from_a_pfx_whose_password_was_stored_with_secret_set()
    {
        using var cli = new Seqsvr();
        var directory = _paths.New("pfx-process");
        Directory.CreateDirectory(directory);
        var pfx = Path.Combine(directory, "server.pfx");
        File.WriteAllBytes(pfx, _certificate.Export(X509ContentType.Pkcs12, "stored-pfx-password"));
        (await cli.RunAsync("config", "set", "-k", "api.certificatePath", "-v", pfx)).ExitCode.ShouldBe(0);
        (await cli.RunAsync("secret", "set", "-k", "api.certificatePassword", "-v", "stored-pfx-password")).ExitCode.ShouldBe(0);
        File.ReadAllText(cli.ConfigurationFile).ShouldNotContain("stored-pfx-password");

        int port;
        using (var free = new TcpListener(IPAddress.Loopback, 0))
        {
            free.Start();
            port = ((IPEndPoint)free.LocalEndpoint).Port;
        }
        await using var server = SeqsvrProcess.Start(cli.StorageRoot, new Dictionary<string, string?>
        {
            ["SEQ_API_LISTENURIS"] = $"https://127.0.0.1:{port}",
            ["SEQ_STORAGE_CONNECTIONSTRING"] = await TestPostgres.CreateDatabaseAsync("https"),
        });
        using var client = new HttpClient(TestCertificates.Trusting(_certificate)) { BaseAddress = new Uri($"https://127.0.0.1:{port}") };

        var deadline = DateTime.UtcNow.AddMinutes(1);
        HttpResponseMessage? health = null;
        while (health?.StatusCode != HttpStatusCode.OK)
        {
            server.HasExited.ShouldBeFalse(server.Output);
            DateTime.UtcNow.ShouldBeLessThan(deadline, server.Output);
            try
            {
                health = await client.GetAsync("/health");
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        health.Headers.GetValues("Strict-Transport-Security").Single().ShouldBe("max-age=31536000");
        server.Output.ShouldContain($"https://127.0.0.1:{port}");
        server.Output.ShouldContain("over HTTPS");
        server.Output.ShouldNotContain("stored-pfx-password");
    }

    [Fact]
    public void A_pem_key_encrypted_with_api_certificatePassword_loads_with_it_and_not_without_it()
    {
        var directory = _paths.New("pem-encrypted");
        var (certificatePath, _) = TestCertificates.WritePem(_certificate, directory);
        var keyPath = Path.Combine(directory, "encrypted.key");
        File.WriteAllText(keyPath, _certificate.GetECDsaPrivateKey()!.ExportEncryptedPkcs8PrivateKeyPem(
            "right-pem-password", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000)));

        using var loaded = ServerCertificate.Load(certificatePath, keyPath, "right-pem-password");
        loaded.HasPrivateKey.ShouldBeTrue();
        loaded.Thumbprint.ShouldBe(_certificate.Thumbprint);

        var without = Should.Throw<HostConfigurationException>(() => ServerCertificate.Load(certificatePath, keyPath, null));
        without.Message.ShouldContain("api.certificatePassword");
        var wrong = Should.Throw<HostConfigurationException>(() => ServerCertificate.Load(certificatePath, keyPath, "wrong-pem-password"));
        wrong.Message.ShouldNotContain("wrong-pem-password");
    }

    [Fact]
    public void A_missing_file_a_key_path_beside_a_pfx_and_a_pfx_without_a_private_key_are_each_refused_with_what_to_fix()
    {
        var directory = _paths.New("certificate-problems");
        Directory.CreateDirectory(directory);
        var missing = Path.Combine(directory, "missing.pem");
        Should.Throw<HostConfigurationException>(() => ServerCertificate.Load(missing, null, null)).Message
            .ShouldStartWith("The certificate (api.certificatePath, api.certificateKeyPath) cannot be read: ");

        var pfx = Path.Combine(directory, "server.pfx");
        File.WriteAllBytes(pfx, _certificate.Export(X509ContentType.Pkcs12, "pfx-password"));
        Should.Throw<HostConfigurationException>(() => ServerCertificate.Load(pfx, Path.Combine(directory, "server.key"), "pfx-password")).Message
            .ShouldBe($"api.certificateKeyPath is set, but {pfx} is not a PEM certificate: a PFX file holds its key itself; clear api.certificateKeyPath.");

        var publicOnly = Path.Combine(directory, "public-only.pfx");
        using (var withoutKey = X509CertificateLoader.LoadCertificate(_certificate.Export(X509ContentType.Cert)))
            File.WriteAllBytes(publicOnly, withoutKey.Export(X509ContentType.Pkcs12));
        Should.Throw<HostConfigurationException>(() => ServerCertificate.Load(publicOnly, null, null)).Message
            .ShouldBe($"The certificate {publicOnly} has no private key: give the key in the file or in api.certificateKeyPath.");
    }
}

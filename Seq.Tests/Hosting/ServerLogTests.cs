using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Seq.Api.Hosting;
using Seq.Infrastructure.Configuration;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class ServerLogTests : IAsyncDisposable
{
    const string QuerySecret = "query-apikey-secret-1";
    const string HeaderSecret = "header-apikey-secret-1";
    const string IngestionKey = "diagnostics-ingestion-key-1";

    readonly string _root = TestDirectories.NewPath("srvlog");
    readonly LoopbackSeq _seq = new();

    [Fact]
    public async Task Each_request_is_logged_once_with_method_path_status_and_elapsed_but_never_its_query_string_or_api_key_header()
    {
        await using var server = await TestServer.StartAsync();
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Add(RequestAuthentication.ApiKeyHeader, HeaderSecret);

        using var response = await client.GetAsync($"/api/feeds?apiKey={QuerySecret}&marker=visible-only-in-the-query");
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        // The captured log renders string properties quoted; the console and the file print them as they are.
        const string line = "HTTP \"GET\" \"/api/feeds\" responded 401 in ";
        await Poll.UntilAsync(() => server.Log.Text.Contains(line, StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the request line");
        // The host finishes a request on a connection before it reads the next one: once the second request's line is
        // there, anything the host would log about the first one is there too.
        using (await client.GetAsync("/api")) { }
        await Poll.UntilAsync(() => server.Log.Text.Contains("HTTP \"GET\" \"/api\" responded", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the second request line");
        var text = server.Log.Text;
        text.Split('\n').Count(l => l.StartsWith("HTTP \"GET\" \"/api/feeds", StringComparison.Ordinal)).ShouldBe(1);
        foreach (var secret in new[] { QuerySecret, HeaderSecret, "visible-only-in-the-query" })
            text.Split('\n').Where(l => l.Contains(secret, StringComparison.Ordinal)).ShouldBeEmpty();
        text.ShouldNotContain("X-Seq-ApiKey", Case.Insensitive);
    }

    [Fact]
    public async Task The_server_log_reaches_a_configured_Seq_server_with_its_api_key_as_a_header_and_a_file_under_the_storage_root_and_neither_holds_a_clients_secret()
    {
        var storage = Path.Combine(_root, "storage");
        await using (var server = SeqsvrProcess.Start(storage, new Dictionary<string, string?>
                     {
                         ["SEQ_DIAGNOSTICS_SEQSERVERURL"] = _seq.Address.ToString(),
                         ["SEQ_DIAGNOSTICS_SEQSERVERAPIKEY"] = IngestionKey,
                     }))
        {
            await server.WaitUntilHealthyAsync();
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/feeds?apiKey={QuerySecret}");
            request.Headers.Add(RequestAuthentication.ApiKeyHeader, HeaderSecret);
            (await server.Client.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

            // The sink sends every two seconds while the server runs; this does not wait for the shutdown's flush.
            await Poll.UntilAsync(() => _seq.Events.Any(e => RequestLine(e) == "/api/feeds"), TimeSpan.FromSeconds(30), "the request line at the Seq server");
            await server.StopAsync();
        }

        _seq.Events.ShouldContain(e => e.GetProperty("@mt").GetString()!.StartsWith("Started PostgreSQL in ", StringComparison.Ordinal),
            "the logger factory made from the bootstrap logger, before the settings were read, must follow its reload");
        var request401 = _seq.Events.Single(e => RequestLine(e) == "/api/feeds");
        request401.GetProperty("RequestMethod").GetString().ShouldBe("GET");
        request401.GetProperty("StatusCode").GetInt32().ShouldBe(401);
        _seq.ApiKeys.ShouldNotBeEmpty();
        _seq.ApiKeys.ShouldAllBe(k => k == IngestionKey);
        _seq.Paths.ShouldAllBe(p => p == "/api/events/raw");
        var shipped = string.Join('\n', _seq.Bodies);
        shipped.ShouldNotContain(QuerySecret);
        shipped.ShouldNotContain(HeaderSecret);
        shipped.ShouldNotContain(IngestionKey);

        var files = Directory.GetFiles(Path.Combine(storage, ServerLogOptions.LogsFolder), "seqsvr-*.log");
        files.Length.ShouldBe(1);
        var file = await File.ReadAllTextAsync(files[0]);
        file.ShouldContain("HTTP GET /api/feeds responded 401 in ");
        file.ShouldNotContain(QuerySecret);
        file.ShouldNotContain(HeaderSecret);
        file.ShouldNotContain(IngestionKey);
    }

    [Fact]
    public void By_default_the_server_log_goes_to_a_file_under_the_storage_root_and_to_no_Seq_server()
    {
        var options = ServerLogOptions.FromSettings(_root, HostConfiguration.Load(_root, _ => null));

        options.FileDirectory.ShouldBe(Path.Combine(_root, "Logs"));
        options.SeqServerUrl.ShouldBeNull();
        options.SeqServerApiKey.ShouldBeNull();
    }

    [Fact]
    public void The_Seq_server_api_key_stored_with_secret_set_is_read_decrypted_and_the_environment_wins_over_the_file()
    {
        var protector = new Seq.Infrastructure.Security.AesGcmSecretProtector(Seq.Infrastructure.Security.SecretKey.Generate());
        var stored = HostConfiguration.Load(_root, _ => null, protector);
        stored.Set("diagnostics.seqServerUrl", "http://127.0.0.1:5342/");
        stored.SetSecret("diagnostics.seqServerApiKey", IngestionKey);
        File.ReadAllText(Path.Combine(_root, HostConfiguration.FileName)).ShouldNotContain(IngestionKey);

        var fromFile = ServerLogOptions.FromSettings(_root, HostConfiguration.Load(_root, _ => null, protector));
        var environment = new Dictionary<string, string> { ["SEQ_DIAGNOSTICS_SEQSERVERAPIKEY"] = "from-the-environment" };
        var overridden = ServerLogOptions.FromSettings(_root, HostConfiguration.Load(_root, name => environment.GetValueOrDefault(name), protector));

        fromFile.SeqServerUrl.ShouldBe(new Uri("http://127.0.0.1:5342/"));
        fromFile.SeqServerApiKey.ShouldBe(IngestionKey);
        overridden.SeqServerApiKey.ShouldBe("from-the-environment");
    }

    [Fact]
    public void A_Seq_server_api_key_without_a_Seq_server_is_refused_without_repeating_the_key()
    {
        var environment = new Dictionary<string, string> { ["SEQ_DIAGNOSTICS_SEQSERVERAPIKEY"] = IngestionKey };

        var refusal = Should.Throw<HostConfigurationException>(() =>
            ServerLogOptions.FromSettings(_root, HostConfiguration.Load(_root, name => environment.GetValueOrDefault(name))));

        refusal.Message.ShouldContain("diagnostics.seqServerUrl");
        refusal.Message.ShouldNotContain(IngestionKey);
        new ServerLogOptions(null, new Uri("http://127.0.0.1:1/"), IngestionKey).ToString().ShouldNotContain(IngestionKey);
    }

    static string? RequestLine(JsonElement clef) =>
        clef.TryGetProperty("RequestPath", out var path) ? path.GetString() : null;

    public async ValueTask DisposeAsync()
    {
        await _seq.DisposeAsync();
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    /// <summary>
    /// Just enough of a Seq server for Serilog.Sinks.Seq: POST /api/events/raw with CLEF, one event a line, answered
    /// 201 with the body the sink reads its minimum level from.
    /// </summary>
    sealed class LoopbackSeq : IAsyncDisposable
    {
        readonly HttpListener _listener = new();
        readonly Task _serving;

        public LoopbackSeq()
        {
            var port = FreePort();
            Address = new Uri($"http://127.0.0.1:{port}/");
            _listener.Prefixes.Add(Address.ToString());
            _listener.Start();
            _serving = ServeAsync();
        }

        public Uri Address { get; }
        public ConcurrentQueue<string> Bodies { get; } = new();
        public ConcurrentQueue<string?> ApiKeys { get; } = new();
        public ConcurrentQueue<string> Paths { get; } = new();
        readonly ConcurrentQueue<JsonElement> _events = new();
        public IReadOnlyList<JsonElement> Events => [.. _events];

        async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                Paths.Enqueue(context.Request.Url!.AbsolutePath);
                ApiKeys.Enqueue(context.Request.Headers["X-Seq-ApiKey"]);
                Bodies.Enqueue(body);
                foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    _events.Enqueue(JsonDocument.Parse(line).RootElement.Clone());

                context.Response.StatusCode = 201;
                context.Response.ContentType = "application/json";
                var answer = """{"MinimumLevelAccepted":null}"""u8.ToArray();
                await context.Response.OutputStream.WriteAsync(answer);
                context.Response.Close();
            }
        }

        static int FreePort()
        {
            using var socket = new TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            await _serving;
        }
    }

    [Fact]
    public void Printed_server_log_options_say_whether_there_is_an_api_key_and_never_what_it_is()
    {
        new ServerLogOptions("/var/lib/seq/logs", new Uri("http://127.0.0.1:5341/"), IngestionKey).ToString()
            .ShouldBe("ServerLogOptions { FileDirectory = /var/lib/seq/logs, SeqServerUrl = http://127.0.0.1:5341/, SeqServerApiKey = (secret) }");
        new ServerLogOptions("/var/lib/seq/logs", null, null).ToString()
            .ShouldBe("ServerLogOptions { FileDirectory = /var/lib/seq/logs, SeqServerUrl = , SeqServerApiKey = none }");
    }

    [Theory]
    [InlineData("/health", 200, null, "Debug")]
    [InlineData("/health", 399, null, "Debug")]
    [InlineData("/health", 400, null, "Information")]
    [InlineData("/health", 503, null, "Error")]
    [InlineData("/health", 200, "thrown", "Error")]
    [InlineData("/api/feeds", 200, null, "Information")]
    [InlineData("/api/feeds", 401, null, "Information")]
    [InlineData("/api/feeds", 499, null, "Information")]
    [InlineData("/api/feeds", 500, null, "Error")]
    [InlineData("/healthy", 200, null, "Information")]
    public void Succeeding_health_probes_are_logged_at_debug_failures_at_error_and_other_requests_at_information(string path, int status, string? exception, string level)
    {
        var options = new Serilog.AspNetCore.RequestLoggingOptions();
        ServerLog.ConfigureRequestLogging(options, Serilog.Core.Logger.None);
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Path = path;
        context.Response.StatusCode = status;

        options.GetLevel(context, 1.0, exception is null ? null : new InvalidOperationException(exception)).ToString().ShouldBe(level);
    }
}

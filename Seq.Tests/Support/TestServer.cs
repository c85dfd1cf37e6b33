using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Seq.Api.Hosting;
using Seq.Infrastructure.Security;
using Serilog;

namespace Seq.Tests.Support;

/// <summary>
/// A real server on Kestrel, listening on a free loopback port, over a fresh database. Its first start creates the
/// administrator <c>admin</c> with <see cref="AdminPassword"/>, and <see cref="Client"/> is logged in as that user.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string AdminPassword = "test-admin-password-1";

    readonly WebApplication _app;
    readonly List<HttpClient> _clients = [];

    TestServer(WebApplication app, string connectionString, Uri address, CapturedLog log, StringWriter console, ServerOptions options)
    {
        _app = app;
        Options = options;
        Secrets.Add(AdminPassword);
        Secrets.Add(options.SecretKey.ToBase64());
        Log = log;
        Console = console;
        ConnectionString = connectionString;
        Address = address;
        Client = CreateClient();
    }

    public ServerOptions Options { get; }

    /// <summary>Passwords, tokens and keys this server was given; none may appear in its audit files (checked at dispose).</summary>
    public List<string> Secrets { get; } = [];

    public string ConnectionString { get; }
    public Uri Address { get; }
    public CapturedLog Log { get; }

    /// <summary>What the server printed to its console (not its log), such as a generated administrator password.</summary>
    public StringWriter Console { get; }

    /// <summary>Logged in as the administrator (after <see cref="StartAsync"/> with the default login).</summary>
    public HttpClient Client { get; private set; }

    public IServiceProvider Services => _app.Services;

    /// <param name="connectionString">A database an earlier server used (to restart on it), or null for a fresh one.</param>
    public static async Task<TestServer> StartAsync(Func<ServerOptions, ServerOptions>? configure = null, bool loginAsAdmin = true, string? connectionString = null)
    {
        connectionString ??= await TestPostgres.CreateDatabaseAsync("api");
        var log = new CapturedLog();
        var console = new StringWriter();
        var logger = new LoggerConfiguration().MinimumLevel.Information().WriteTo.Sink(log)
            .WriteTo.Console(restrictedToMinimumLevel: Serilog.Events.LogEventLevel.Warning).CreateLogger();
        var options = new ServerOptions(connectionString, ["http://127.0.0.1:0"], SecretKey.Generate())
        {
            FirstRun = new FirstRunOptions(AdminPassword: AdminPassword),
            // Tests send bursts of writes from one address; the limit itself is tested with its own settings.
            Limits = RequestLimits.Default with { WritesPerSecondPerAddress = 0 },
            Console = console,
        };
        if (configure is not null)
            options = configure(options);

        var app = SeqServer.Build(options, logger);
        await SeqServer.StartAsync(app, CancellationToken.None);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var server = new TestServer(app, connectionString, new Uri(address), log, console, options);
        if (loginAsAdmin)
            server.Client = await server.LoginAsync("admin", AdminPassword);
        return server;
    }

    /// <summary>A client with its own cookie jar and no credentials.</summary>
    public HttpClient CreateClient()
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true }) { BaseAddress = Address };
        _clients.Add(client);
        return client;
    }

    /// <summary>A client that sends <paramref name="apiKey"/> with every request.</summary>
    public HttpClient ApiKeyClient(string apiKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add(RequestAuthentication.ApiKeyHeader, apiKey);
        return client;
    }

    /// <summary>Logs in and returns a client holding the session cookie and sending its CSRF token.</summary>
    public async Task<HttpClient> LoginAsync(string username, string password)
    {
        var client = CreateClient();
        using var response = await client.PostAsJsonAsync("/api/users/login", new { Username = username, Password = password });
        var body = await ReadAsync(response, HttpStatusCode.OK);
        client.DefaultRequestHeaders.Add(RequestAuthentication.CsrfHeader, body.GetProperty("CsrfToken").GetString());
        return client;
    }

    /// <summary>Creates a user with the given role through the administrator's client and returns its id.</summary>
    public async Task<string> CreateUserAsync(string username, string password, params string[] roleIds)
    {
        Secrets.Add(password);
        using var response = await Client.PostAsJsonAsync("/api/users", new { Username = username, NewPassword = password, RoleIds = roleIds });
        return (await ReadAsync(response, HttpStatusCode.Created)).GetProperty("Id").GetString()!;
    }

    public async Task<JsonElement> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await Client.GetAsync(path);
        return await ReadAsync(response, expected);
    }

    public async Task<JsonElement> PutJsonAsync(string path, string json, HttpStatusCode expected)
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await Client.PutAsync(path, content);
        return await ReadAsync(response, expected);
    }

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(expected, body);
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Every audit event this server wrote to its audit directory, in file order.</summary>
    public List<JsonElement> AuditEvents()
    {
        if (Options.Audit.Path is not { } directory || !Directory.Exists(directory))
            return [];
        return
        [
            .. Directory.GetFiles(directory, "seq-audit-*.ndjson").Order()
                .SelectMany(ReadSharedLines)
                .Where(line => line.Length > 0)
                .Select(line => JsonDocument.Parse(line).RootElement.Clone()),
        ];
    }

    /// <summary>
    /// The audit events once <paramref name="complete"/> holds of them: closing events (Complete, Abandon, Fail,
    /// Advise) do not block the request, so they may reach the file a moment after its response.
    /// </summary>
    public async Task<List<JsonElement>> AuditEventsAsync(Func<List<JsonElement>, bool> complete)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var events = AuditEvents();
            if (complete(events))
                return events;
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the expected audit events did not reach the file in time");
            await Task.Delay(20);
        }
    }

    public static IEnumerable<string> ReadSharedLines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
            lines.Add(line);
        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
            client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();

        // The audit files outlive the server: whatever a test did, no secret it handed the server may be in them.
        if (Options.Audit.Path is { } directory && Directory.Exists(directory))
        {
            foreach (var file in Directory.GetFiles(directory, "seq-audit-*.ndjson"))
            {
                var text = File.ReadAllText(file);
                foreach (var secret in Secrets.Where(s => s.Length >= 6))
                    text.ShouldNotContain(secret, customMessage: $"the audit file {file} holds a secret");
            }
        }
    }
}

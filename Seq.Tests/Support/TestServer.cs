using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Seq.Api.Hosting;
using Seq.Infrastructure.Security;
using Serilog;

namespace Seq.Tests.Support;

/// <summary>A real server on Kestrel, listening on a free loopback port, over a fresh database.</summary>
public sealed class TestServer : IAsyncDisposable
{
    readonly WebApplication _app;

    TestServer(WebApplication app, string connectionString, Uri address, CapturedLog log)
    {
        _app = app;
        Log = log;
        ConnectionString = connectionString;
        Client = new HttpClient { BaseAddress = address };
    }

    public string ConnectionString { get; }
    public CapturedLog Log { get; }
    public HttpClient Client { get; }
    public IServiceProvider Services => _app.Services;

    public static async Task<TestServer> StartAsync()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("api");
        var log = new CapturedLog();
        var logger = new LoggerConfiguration().MinimumLevel.Information().WriteTo.Sink(log)
            .WriteTo.Console(restrictedToMinimumLevel: Serilog.Events.LogEventLevel.Warning).CreateLogger();
        var app = SeqServer.Build(new ServerOptions(connectionString, ["http://127.0.0.1:0"], SecretKey.Generate()), logger);
        await SeqServer.StartAsync(app, CancellationToken.None);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestServer(app, connectionString, new Uri(address), log);
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

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

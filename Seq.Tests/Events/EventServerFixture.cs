using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Seq.Tests.Support;

namespace Seq.Tests.Events;

/// <summary>
/// One server for a class of event tests, with an Ingest key. Tests keep apart by writing their events into a time
/// window of their own (<see cref="NewWindow"/>) and searching only there.
/// </summary>
public sealed class EventServerFixture : IAsyncLifetime
{
    static int _windows;

    public TestServer Server { get; private set; } = null!;
    public string IngestKey { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await TestServer.StartAsync();
        IngestKey = await CreateKeyAsync(Server.Client, "ingest", ["Ingest"]);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>The start of an hour that no other test of this run writes into.</summary>
    public static DateTimeOffset NewWindow() =>
        new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(Interlocked.Increment(ref _windows) * 25 + Random.Shared.Next(0, 20) * 24 * 400);

    public static async Task<string> CreateKeyAsync(HttpClient client, string title, string[] permissions, object? inputSettings = null)
    {
        using var response = await client.PostAsJsonAsync("/api/apikeys", new { Title = title, AssignedPermissions = permissions, InputSettings = inputSettings });
        return (await TestServer.ReadAsync(response, HttpStatusCode.Created)).GetProperty("Token").GetString()!;
    }

    public async Task<HttpResponseMessage> PostClefAsync(string body, string? apiKey = null, string path = "/api/events/raw", string? contentType = "application/vnd.serilog.clef")
    {
        using var client = Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        if (contentType is not null)
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        if (apiKey is not null)
            request.Headers.Add("X-Seq-ApiKey", apiKey);
        return await client.SendAsync(request);
    }

    /// <summary>The events of one window, newest first, as the administrator sees them.</summary>
    public async Task<List<JsonElement>> SearchAsync(DateTimeOffset window, string? extra = null, HttpClient? client = null, int count = 10_000)
    {
        var path = $"/api/events?count={count}&fromDateUtc={Uri.EscapeDataString(window.ToString("o"))}&toDateUtc={Uri.EscapeDataString(window.AddHours(1).ToString("o"))}{extra}";
        using var response = await (client ?? Server.Client).GetAsync(path);
        var body = await TestServer.ReadAsync(response, HttpStatusCode.OK);
        return [.. body.EnumerateArray()];
    }

    public static string Property(JsonElement entity, string name) =>
        entity.GetProperty("Properties").EnumerateArray().Single(p => p.GetProperty("Name").GetString() == name).GetProperty("Value").GetRawText();

    public static bool HasProperty(JsonElement entity, string name) =>
        entity.GetProperty("Properties").EnumerateArray().Any(p => p.GetProperty("Name").GetString() == name);
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Seq.Tests.Support;

namespace Seq.Tests.Backups;

/// <summary>Metadata of every kind made through the API, and the database's state compared table by table.</summary>
static class BackupTestData
{
    public const string UserPassword = "restored-user-password-1";
    public const string FeedPassword = "feed-password-to-decrypt";

    public sealed record Made(string UserId, string ApiKeyToken, string FeedId);

    public static async Task<Made> MakeAsync(TestServer server, string suffix = "")
    {
        var userId = await server.CreateUserAsync("restored-user" + suffix, UserPassword, "role-user-readwrite");
        using var key = await server.Client.PostAsJsonAsync("/api/apikeys", new { Title = "restored key" + suffix, AssignedPermissions = new[] { "Ingest", "Read" } });
        var token = (await TestServer.ReadAsync(key, HttpStatusCode.Created)).GetProperty("Token").GetString()!;
        server.Secrets.Add(token);
        using var feed = await server.Client.PostAsJsonAsync("/api/feeds",
            new { Name = "restored feed" + suffix, Location = "https://nuget.example.com/v3/index.json", Username = "feeder", NewPassword = FeedPassword });
        var feedId = (await TestServer.ReadAsync(feed, HttpStatusCode.Created)).GetProperty("Id").GetString()!;
        await server.PutJsonAsync("/api/settings/InstanceTitle", """{"Name":"InstanceTitle","Value":"Restored title" }""", HttpStatusCode.OK);
        return new Made(userId, token, feedId);
    }

    /// <summary>Every row of the event store and of each read model, in a stable order, as JSON (sequence numbers and transaction ids left out: they belong to a cluster).</summary>
    public static async Task<Dictionary<string, List<string>>> DumpAsync(string connectionString)
    {
        string[] queries =
        [
            "SELECT stream_id, type, version, created, updated, is_archived FROM streams",
            "SELECT stream_id, version, event_id, type, data, metadata, created FROM events",
            "SELECT * FROM users", "SELECT * FROM api_keys", "SELECT * FROM nuget_feeds", "SELECT * FROM settings", "SELECT key_id, check_value FROM instance_secret_key",
        ];
        var dump = new Dictionary<string, List<string>>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var query in queries)
        {
            await using var command = new NpgsqlCommand($"SELECT row_to_json(r)::text FROM ({query}) r", connection);
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<string>();
            while (await reader.ReadAsync())
                rows.Add(reader.GetString(0));
            rows.Sort(StringComparer.Ordinal);
            dump[query] = rows;
        }
        return dump;
    }

    public static void ShouldEqual(Dictionary<string, List<string>> actual, Dictionary<string, List<string>> expected)
    {
        foreach (var (query, rows) in expected)
            actual[query].ShouldBe(rows, $"{query} differs");
    }

    public static async Task<int> TableCountAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync());
    }

    public static async Task<string> CreateBackupAsync(TestServer server)
    {
        using var response = await server.Client.PostAsync("/api/backups/immediate", null);
        var created = await TestServer.ReadAsync(response, HttpStatusCode.Created);
        return Path.Combine(server.Options.BackupLocation!, created.GetProperty("Filename").GetString()!);
    }

    public static JsonElement Property(this JsonElement element, string name) => element.GetProperty(name);
}

using System.Net;
using System.Net.Http.Json;
using Seq.Api.Hosting;
using Seq.Infrastructure.Backups;
using Seq.Tests.Support;

namespace Seq.Tests.Backups;

public sealed class BackupApiTests : IAsyncLifetime
{
    readonly string _backups = TestDirectories.NewPath("bacapi");
    readonly string _audit = TestDirectories.NewPath("bacaudit");
    TestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await TestServer.StartAsync(o => o with { BackupLocation = _backups, Audit = new AuditOptions(_audit, null, null) });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        TestDirectories.Delete(_backups);
        TestDirectories.Delete(_audit);
    }

    [Fact]
    public async Task A_backup_made_now_is_listed_found_and_downloaded_in_seqs_shape()
    {
        var root = await _server.GetJsonAsync("/api");
        root.GetProperty("Links").GetProperty("BackupsResources").GetString().ShouldBe("api/backups/resources");
        var links = (await _server.GetJsonAsync("/api/backups/resources")).GetProperty("Links");
        links.GetProperty("Items").GetString().ShouldBe("api/backups");
        links.GetProperty("Item").GetString().ShouldBe("api/backups/{id}");
        links.GetProperty("Immediate").GetString().ShouldBe("api/backups/immediate");

        using var created = await _server.Client.PostAsync("/api/backups/immediate", null);
        var backup = await TestServer.ReadAsync(created, HttpStatusCode.Created);

        var id = backup.GetProperty("Id").GetString()!;
        var list = await _server.GetJsonAsync("/api/backups");
        list.GetArrayLength().ShouldBe(1);
        list[0].GetProperty("Id").GetString().ShouldBe(id);
        var path = Path.Combine(_backups, list[0].GetProperty("Filename").GetString()!);
        list[0].GetProperty("FileSizeBytes").GetInt64().ShouldBe(new FileInfo(path).Length);
        DateTimeOffset.Parse(list[0].GetProperty("CreatedAt").GetString()!).ShouldBe(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        (await _server.GetJsonAsync($"/api/backups/{id}")).GetProperty("Filename").GetString().ShouldBe(Path.GetFileName(path));

        var downloaded = await _server.Client.GetByteArrayAsync($"/api/backups/{id}/download");
        downloaded.ShouldBe(await File.ReadAllBytesAsync(path));
        BackupRestore.Verify(path, _server.Options.SecretKey).Events.ShouldBeGreaterThan(0);

        var audit = await _server.AuditEventsAsync(events => events.Any(e => e.GetProperty("Operation").GetString() == "Create" && e.GetProperty("Event").GetString() == "Complete"));
        var download = audit.Single(e => e.GetProperty("Category").GetString() == "Backup" && e.GetProperty("Operation").GetString() == "Download");
        download.GetProperty("Event").GetString().ShouldBe("Record");
        download.GetProperty("BackupId").GetString().ShouldBe(id);
    }

    [Fact]
    public async Task Backups_need_the_system_permission_and_an_unknown_id_is_404()
    {
        await _server.CreateUserAsync("plain-user", "plain-user-password-1", "role-user-readwrite");
        using var user = await _server.LoginAsync("plain-user", "plain-user-password-1");

        (await user.GetAsync("/api/backups")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await user.PostAsync("/api/backups/immediate", null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await _server.CreateClient().GetAsync("/api/backups")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using var missing = await _server.Client.GetAsync("/api/backups/..%2F..%2FSecretKey/download");
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await missing.Content.ReadAsStringAsync()).ShouldContain("\"Error\"");
    }

    [Fact]
    public async Task Retention_keeps_exactly_BackupsToKeep_deleting_the_oldest_once_the_new_one_is_complete()
    {
        await _server.PutJsonAsync("/api/settings/setting-BackupsToKeep", """{"Value": 3}""", HttpStatusCode.OK);
        var made = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            using var created = await _server.Client.PostAsync("/api/backups/immediate", null);
            made.Add((await TestServer.ReadAsync(created, HttpStatusCode.Created)).GetProperty("Id").GetString()!);
        }

        var listed = (await _server.GetJsonAsync("/api/backups")).EnumerateArray().Select(b => b.GetProperty("Id").GetString()!).ToList();

        listed.ShouldBe(made[2..], ignoreOrder: true);
        Directory.GetFiles(_backups).Select(Path.GetFileName).ShouldAllBe(name => name!.EndsWith(".seqbac"));
        Directory.GetFiles(_backups).Length.ShouldBe(3);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Seq.Infrastructure.Backups;
using Seq.Tests.Support;

namespace Seq.Tests.Backups;

/// <summary>The real seqsvr process: restore from an <c>Init/</c> script as the spec describes for containers, and a kill -9 mid-backup.</summary>
public sealed class BackupProcessTests : IDisposable
{
    readonly string _root = TestDirectories.NewPath("bacproc");
    readonly string _source = TestDirectories.NewPath("bacsrc");

    public void Dispose()
    {
        TestDirectories.Delete(_root);
        TestDirectories.Delete(_source);
    }

    [Fact]
    public async Task A_full_restore_in_an_init_script_runs_before_the_server_serves_is_audited_and_runs_once()
    {
        string backup;
        string key;
        await using (var source = await TestServer.StartAsync(o => o with { BackupLocation = _source }))
        {
            await BackupTestData.MakeAsync(source);
            backup = await BackupTestData.CreateBackupAsync(source);
            key = source.Options.SecretKey.ToBase64();
        }
        Directory.CreateDirectory(Path.Combine(_root, "Backups"));
        File.Copy(backup, Path.Combine(_root, "Backups", "backup.seqbac"));
        Directory.CreateDirectory(Path.Combine(_root, "Init"));
        await File.WriteAllTextAsync(Path.Combine(_root, "Init", "restore"),
            $"#!/bin/sh\n# Full restore into a fresh volume\nseqsvr restore -y --enable-apps --secret-key=\"{key}\" --backup=\"../Backups/backup.seqbac\"\n");
        var audit = Path.Combine(_root, "Audit");

        await using var server = SeqsvrProcess.Start(_root, new Dictionary<string, string?>
        {
            ["SEQ_STORAGE_CONNECTIONSTRING"] = await TestPostgres.CreateDatabaseAsync("initrestore"),
            ["SEQ_AUDIT_AUDITPATH"] = audit,
        });
        await server.WaitUntilHealthyAsync();

        using var login = await server.Client.PostAsJsonAsync("/api/users/login", new { Username = "restored-user", Password = BackupTestData.UserPassword });
        login.StatusCode.ShouldBe(HttpStatusCode.OK, await login.Content.ReadAsStringAsync());
        File.Exists(Path.Combine(_root, "Init", "restore")).ShouldBeFalse();
        File.Exists(Path.Combine(_root, "Init", "Completed", "restore")).ShouldBeTrue();
        (await File.ReadAllTextAsync(Path.Combine(_root, "SecretKey"))).Trim().ShouldBe(key);
        server.Output.ShouldNotContain(key);
        var lines = Directory.GetFiles(audit, "seq-audit-*.ndjson").SelectMany(TestServer.ReadSharedLines).ToList();
        lines.ShouldContain(l => l.Contains("\"Category\":\"Backup\"") && l.Contains("\"Operation\":\"Restore\"") && l.Contains("\"Event\":\"Record\""));
        lines.ShouldAllBe(l => !l.Contains(key));
    }

    [Fact]
    public async Task An_init_script_line_that_is_not_a_seqsvr_command_stops_start_up_and_nothing_runs()
    {
        Directory.CreateDirectory(Path.Combine(_root, "Init"));
        var marker = Path.Combine(_root, "marker");
        await File.WriteAllTextAsync(Path.Combine(_root, "Init", "01-bad"), $"seqsvr config set -k api.listenUris -v http://localhost:9999\ntouch {marker}\n");

        await using var server = SeqsvrProcess.Start(_root);

        (await server.WaitForExitAsync()).ShouldBe(1);
        server.Output.ShouldContain("line 2, is not a seqsvr command");
        File.Exists(marker).ShouldBeFalse();
        File.Exists(Path.Combine(_root, "Seq.json")).ShouldBeFalse();
        File.Exists(Path.Combine(_root, "Init", "01-bad")).ShouldBeTrue();
        Directory.Exists(Path.Combine(_root, "PostgreSQL")).ShouldBeFalse();
    }

    [Fact]
    public async Task A_server_killed_during_a_backup_leaves_no_backup_that_lists_or_restores()
    {
        var database = await TestPostgres.CreateDatabaseAsync("backupkill");
        await using var server = SeqsvrProcess.Start(_root, new Dictionary<string, string?> { ["SEQ_STORAGE_CONNECTIONSTRING"] = database });
        await server.WaitUntilHealthyAsync();
        await server.LoginAsAdminAsync();
        // Enough events that the backup takes a while to write.
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var bulk = new NpgsqlCommand("""
                INSERT INTO streams (stream_id, type, version) VALUES ('bulk-1', 'Bulk', 100000);
                INSERT INTO events (stream_id, version, event_id, type, data, metadata)
                SELECT 'bulk-1', g, gen_random_uuid(), 'BulkHappened', jsonb_build_object('Text', md5(g::text) || md5((g * 7)::text)), '{}'
                FROM generate_series(1, 100000) g;
                """, connection);
            await bulk.ExecuteNonQueryAsync();
        }
        var backups = Path.Combine(_root, "Backups");

        var request = server.Client.PostAsync("/api/backups/immediate", null);
        string? temporary = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (temporary is null)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "no backup was being written");
            request.IsCompleted.ShouldBeFalse("the backup finished before it could be interrupted");
            temporary = Directory.Exists(backups) ? Directory.GetFiles(backups, ".*.seqbac.tmp").FirstOrDefault() : null;
            await Task.Delay(2);
        }
        using (var process = Process.GetProcessById(server.ProcessId))
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        await Should.ThrowAsync<HttpRequestException>(() => request);

        new BackupFiles(backups).List().ShouldBeEmpty();
        Directory.GetFiles(backups).ShouldAllBe(path => Path.GetFileName(path).StartsWith('.') && path.EndsWith(".tmp"));
        var secretKey = Seq.Infrastructure.Security.SecretKey.FromBase64(await File.ReadAllTextAsync(Path.Combine(_root, "SecretKey")));
        Should.Throw<BackupFileException>(() => BackupRestore.Verify(temporary, secretKey));
    }
}

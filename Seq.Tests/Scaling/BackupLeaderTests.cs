using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Seq.Infrastructure.Backups;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Scaling;

/// <summary>Two real seqsvr processes on one database, both due to make the day's backup at the same moment.</summary>
public sealed class BackupLeaderTests : IDisposable
{
    readonly string[] _roots = [TestDirectories.NewPath("leader-a"), TestDirectories.NewPath("leader-b")];

    [Fact]
    public async Task Killing_the_node_that_is_making_the_days_backup_lets_the_other_make_it_once_and_leaves_no_partial_backup_listed()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("backup_leader");
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            await new SchemaMigrator(dataSource, Microsoft.Extensions.Logging.Abstractions.NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);
            // Enough metadata that a backup takes a moment, long enough to be killed in the middle of.
            await using (var fill = dataSource.CreateCommand("""
                INSERT INTO streams (stream_id, type, version) VALUES ('filler', 'Filler', 60000);
                INSERT INTO events (stream_id, version, event_id, type, data, metadata)
                SELECT 'filler', n, gen_random_uuid(), 'Filler', jsonb_build_object('pad', md5(n::text) || md5((n * 7)::text) || md5((n * 13)::text)), '{}'
                FROM generate_series(1, 60000) AS n;
                """))
                await fill.ExecuteNonQueryAsync();
            // Both nodes are due at the same moment, a little after they have started.
            await using var time = dataSource.CreateCommand("INSERT INTO settings (name, value, updated) VALUES ('BackupUtcTimeOfDay', $1, now())");
            time.Parameters.Add(new NpgsqlParameter { Value = DateTime.UtcNow.AddSeconds(40).ToString("HH:mm:ss", CultureInfo.InvariantCulture) });
            await time.ExecuteNonQueryAsync();
        }

        var key = SecretKey.Generate().ToBase64();
        var environment = new Dictionary<string, string?> { ["SEQ_STORAGE_CONNECTIONSTRING"] = connectionString, ["SEQ_STORAGE_SECRETKEY"] = key };
        await using var a = SeqsvrProcess.Start(_roots[0], environment);
        await using var b = SeqsvrProcess.Start(_roots[1], environment);
        await Task.WhenAll(a.WaitUntilHealthyAsync(), b.WaitUntilHealthyAsync());

        // Whichever node writes first is the leader: its hidden temporary file shows the backup under way.
        var backups = _roots.Select(root => Path.Combine(root, "Backups")).ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        int leader;
        while ((leader = Array.FindIndex(backups, d => Directory.Exists(d) && Directory.GetFiles(d, ".*.tmp").Length > 0)) < 0)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "no node started the scheduled backup");
            await Task.Delay(5);
        }
        var (killed, survivor) = leader == 0 ? (a, b) : (b, a);
        Process.GetProcessById(killed.ProcessId).Kill();
        (await killed.WaitForExitAsync()).ShouldNotBe(0);
        new BackupFiles(backups[leader]).List().ShouldBeEmpty("the killed node's partial backup must not be listed");

        var taken = Stopwatch.StartNew();
        var other = backups[1 - leader];
        while (!(Directory.Exists(other) && new BackupFiles(other).List().Count == 1))
        {
            taken.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30), "the surviving node did not make the day's backup\n" + survivor.Output);
            await Task.Delay(20);
        }

        // The day is recorded once its backup file is complete, so the record may follow the file by a moment.
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            await Poll.UntilAsync(async () =>
            {
                await using var count = dataSource.CreateCommand("SELECT count(*) FROM backup_days");
                return (long)(await count.ExecuteScalarAsync())! > 0;
            }, TimeSpan.FromSeconds(30), "the day's backup to be recorded");
            await using var days = dataSource.CreateCommand("SELECT count(*), min(file_name) FROM backup_days");
            await using var reader = await days.ExecuteReaderAsync();
            await reader.ReadAsync();
            reader.GetInt64(0).ShouldBe(1);
            reader.GetString(1).ShouldBe(new BackupFiles(other).List().Single().FileName);
        }
        new BackupFiles(backups[leader]).List().ShouldBeEmpty();
    }

    public void Dispose()
    {
        foreach (var root in _roots)
            TestDirectories.Delete(root);
    }
}

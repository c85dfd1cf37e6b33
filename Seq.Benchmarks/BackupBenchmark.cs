using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Domain;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;
using Seq.Domain.Settings;
using Seq.Domain.Users;
using Seq.Infrastructure;
using Seq.Infrastructure.Backups;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;

namespace Seq.Benchmarks;

/// <summary>
/// Issue 14's targets: 100,000 metadata events (users, API keys, settings, through the store and its real projections)
/// backed up in at most 5 s and restored with the projection rebuild in at most 10 s, each under 200 MB. Baselines in
/// the same run: a plain read of every event in feed order (what any backup must do at least), and the projection
/// rebuild alone (the part of a restore that is not copying).
/// </summary>
sealed class BackupBenchmark(string connectionString, int rounds)
{
    const int Users = 20_000;      // 2 events each
    const int ApiKeys = 10_000;    // 3 events each
    const int Settings = 30_000;   // on one stream

    public async Task<IReadOnlyList<string>> RunAsync()
    {
        await using var provider = new ServiceCollection().AddLogging().AddInfrastructure(connectionString).BuildServiceProvider();
        var dataSource = provider.GetRequiredService<NpgsqlDataSource>();
        await provider.GetRequiredService<SchemaMigrator>().MigrateAsync(default);
        var serializer = provider.GetRequiredService<EventSerializer>();
        var projections = provider.GetServices<IInlineProjection>().ToList();
        var store = new PostgresEventStore(dataSource, serializer, projections, new OperationContext(), TimeProvider.System, []);
        var key = SecretKey.Generate();

        var seeding = Stopwatch.StartNew();
        var events = await SeedAsync(store, dataSource);
        Console.Error.WriteLine($"Seeded {events} events in {seeding.Elapsed.TotalSeconds:0.0} s");

        var directory = Path.Combine(Path.GetTempPath(), "seq-bench-backup-" + Guid.NewGuid().ToString("N")[..8]);
        var files = new BackupFiles(directory);
        var read = new List<double>();
        var backup = new List<(double Seconds, long Peak)>();
        var restore = new List<(double Seconds, long Peak)>();
        var rebuild = new List<double>();
        long size = 0;
        try
        {
            for (var round = 0; round <= rounds; round++)
            {
                var readSeconds = await TimeAsync(() => ReadAllAsync(dataSource));
                var (backupSeconds, backupPeak) = await MeasureAsync(async () =>
                {
                    var file = await files.WriteAsync(key, DateTimeOffset.UtcNow, (stream, token) => BackupSnapshot.WriteAsync(dataSource, stream, token), default);
                    size = file.SizeInBytes;
                });
                var path = files.List()[0].FullPath;

                var target = await CreateDatabaseAsync();
                var bulk = new NpgsqlDataSourceBuilder(target);
                bulk.ConnectionStringBuilder.MaxAutoPrepare = 64;
                bulk.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
                await using var targetSource = bulk.Build();
                await new SchemaMigrator(targetSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(default);
                var targetRebuild = new ProjectionRebuild(targetSource, serializer, projections);
                var (restoreSeconds, restorePeak) = await MeasureAsync(() =>
                    BackupRestore.ApplyAsync(targetSource, targetRebuild, path, key, "Benchmark", TimeProvider.System, default));
                var rebuildSeconds = await TimeAsync(() => targetRebuild.RunAsync(default));
                if (round == 0)
                    continue; // warm-up
                read.Add(readSeconds);
                backup.Add((backupSeconds, backupPeak));
                restore.Add((restoreSeconds, restorePeak));
                rebuild.Add(rebuildSeconds);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        static double Median(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);
        var backupMedian = Median(backup.Select(b => b.Seconds));
        var restoreMedian = Median(restore.Select(r => r.Seconds));
        const double Mb = 1024 * 1024;
        return
        [
            $"| Events backed up and restored | {events:N0} | {Users:N0} users (2 events), {ApiKeys:N0} API keys (3), {Settings:N0} setting changes |",
            $"| Backup (snapshot, compress, encrypt, fsync, rename) | {backupMedian:0.00} s (target ≤ 5 s) | {Median(read) :0.00} s to read every event in feed order alone: backup ÷ read = {backupMedian / Median(read):0.0}× |",
            $"| Backup file size | {size / Mb:0.0} MB | {size / (double)events:0} bytes per event |",
            $"| Peak working set during backup | {backup.Max(b => b.Peak) / Mb:0} MB (target < 200 MB) | whole process, including the runtime |",
            $"| Restore (copy while authenticating, rebuild read models, commit) | {restoreMedian:0.00} s (target ≤ 10 s) | rebuild alone {Median(rebuild):0.00} s ({Median(rebuild) / restoreMedian:P0} of the restore) |",
            $"| Peak working set during restore | {restore.Max(r => r.Peak) / Mb:0} MB (target < 200 MB) | whole process, including the runtime |",
            $"| Rounds | {rounds} (after one warm-up) | medians |",
        ];
    }

    async Task<long> SeedAsync(PostgresEventStore store, NpgsqlDataSource dataSource)
    {
        var now = DateTimeOffset.UtcNow;
        for (var start = 0; start < Users; start += 200)
        {
            var appends = Enumerable.Range(start, 200).Select(i =>
            {
                var id = $"user-bench-{i}";
                return new StreamAppend(User.StreamIdFor(id), User.StreamType, 0,
                [
                    new UserCreated(id, $"bench-user-{i}", $"Bench User {i}", $"user{i}@example.com", ["role-user-readwrite"], null,
                        "pbkdf2-sha512$210000$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", false, now),
                    new UserChanged(id, $"bench-user-{i}", $"Bench User {i} (renamed)", $"user{i}@example.com", ["role-user-readwrite", "role-user-readonly"], null, false, now),
                ]);
            }).ToList();
            await store.AppendAsync(appends, default);
        }
        for (var start = 0; start < ApiKeys; start += 200)
        {
            var appends = Enumerable.Range(start, 200).Select(i =>
            {
                var id = $"apikey-bench-{i}";
                return new StreamAppend(ApiKey.StreamIdFor(id), ApiKey.StreamType, 0,
                [
                    new ApiKeyCreated(id, $"Bench key {i}", $"bk{i:x6}", new byte[16], new byte[32], [Permission.Ingest], null, InputSettings.None, now),
                    new ApiKeyChanged(id, $"Bench key {i} renamed", [Permission.Ingest, Permission.Read], InputSettings.None, now),
                    new ApiKeyChanged(id, $"Bench key {i} renamed again", [Permission.Ingest], InputSettings.None, now),
                ]);
            }).ToList();
            await store.AppendAsync(appends, default);
        }
        var version = 0L;
        for (var start = 0; start < Settings; start += 1000)
        {
            var changes = Enumerable.Range(start, 1000)
                .Select(i => (IDomainEvent)new SettingChanged(SettingCatalogue.InstanceTitle.Name, $"Title {i}", $"Title {i - 1}", now)).ToList();
            version = await store.AppendAsync(InstanceSettings.StreamId, InstanceSettings.StreamType, version, changes, default);
        }
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM events");
        return (long)(await count.ExecuteScalarAsync())!;
    }

    static async Task ReadAllAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT stream_id, version, event_id, type, data::text, metadata::text, created FROM events ORDER BY tx, seq");
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess);
        while (await reader.ReadAsync())
        {
            _ = reader.GetString(0);
            _ = reader.GetString(4);
            _ = reader.GetString(5);
        }
    }

    async Task<string> CreateDatabaseAsync()
    {
        var name = "bench_restore_" + Guid.NewGuid().ToString("N")[..8];
        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres" }.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(connectionString) { Database = name }.ConnectionString;
    }

    static async Task<double> TimeAsync(Func<Task> work)
    {
        var watch = Stopwatch.StartNew();
        await work();
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>Seconds, and the process's peak working set sampled every 5 ms while the work ran.</summary>
    static async Task<(double Seconds, long PeakBytes)> MeasureAsync(Func<Task> work)
    {
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        var peak = 0L;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
                try { await Task.Delay(5, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var seconds = await TimeAsync(work);
        stop.Cancel();
        await sampler;
        process.Refresh();
        return (seconds, Math.Max(peak, process.WorkingSet64));
    }
}

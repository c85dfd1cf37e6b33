using System.Net;
using Microsoft.Extensions.Logging;
using Npgsql;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Scaling;

public sealed class ScaleOutStartupTests
{
    [Fact]
    public async Task Two_nodes_starting_at_once_on_an_empty_database_apply_each_migration_once_and_both_serve()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("scale_start");
        var key = SecretKey.Generate();

        var nodes = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => Task.Run(() =>
            TestServer.StartAsync(o => o with { SecretKey = key, NodeName = $"starter-{i}" }, connectionString: connectionString))));
        try
        {
            var applied = nodes.Sum(n => n.Log.Text.Split('\n').Count(line => line.StartsWith("Applied schema step", StringComparison.Ordinal)));
            applied.ShouldBe(SchemaMigrations.All.Count);

            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await using (var count = dataSource.CreateCommand("SELECT count(*) FROM schema_migrations"))
                ((long)(await count.ExecuteScalarAsync())!).ShouldBe(SchemaMigrations.All.Count);

            foreach (var node in nodes)
            {
                (await node.GetJsonAsync("/health")).GetProperty("Node").GetString().ShouldStartWith("starter-");
                (await node.GetJsonAsync("/api/users/current")).GetProperty("Username").GetString().ShouldBe("admin");
            }
        }
        finally
        {
            foreach (var node in nodes)
                await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_node_that_finds_the_schema_being_migrated_says_it_waits_and_migrates_once_the_lock_is_free()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("scale_wait");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var holder = await dataSource.OpenConnectionAsync();
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock($1)", holder))
        {
            take.Parameters.Add(new NpgsqlParameter { Value = SchemaMigrator.MigrationLockId });
            await take.ExecuteNonQueryAsync();
        }

        var logger = new TypedLogger<SchemaMigrator>();
        var migration = new SchemaMigrator(dataSource, logger).MigrateAsync(CancellationToken.None);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!logger.Inner.Text.Contains("Waiting for another node to finish migrating the database schema", StringComparison.Ordinal))
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the waiting node said nothing");
            await Task.Delay(20);
        }
        migration.IsCompleted.ShouldBeFalse();

        await using (var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", holder))
        {
            release.Parameters.Add(new NpgsqlParameter { Value = SchemaMigrator.MigrationLockId });
            await release.ExecuteNonQueryAsync();
        }
        await migration;
        logger.Inner.Text.Split('\n').Count(line => line.StartsWith("Applied schema step", StringComparison.Ordinal)).ShouldBe(SchemaMigrations.All.Count);
    }

    [Fact]
    public async Task A_node_whose_binary_is_older_than_the_schema_refuses_to_start_in_one_line()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("scale_old");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await new SchemaMigrator(dataSource, new TypedLogger<SchemaMigrator>()).MigrateAsync(CancellationToken.None);
        await using (var newer = dataSource.CreateCommand("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from a newer release')"))
        {
            newer.Parameters.Add(new NpgsqlParameter { Value = SchemaMigrator.KnownVersion + 1 });
            await newer.ExecuteNonQueryAsync();
        }

        var storage = TestDirectories.NewPath("scale-old");
        try
        {
            await using var server = SeqsvrProcess.Start(storage, new Dictionary<string, string?> { ["SEQ_STORAGE_CONNECTIONSTRING"] = connectionString });
            (await server.WaitForExitAsync()).ShouldBe(1, server.Output);
            server.ErrorLines.Count.ShouldBe(1, server.Output);
            server.Output.ShouldNotContain("   at ");
            server.ErrorLines[0].ShouldContain($"The database schema is at version {SchemaMigrator.KnownVersion + 1}, newer than this seqsvr knows (version {SchemaMigrator.KnownVersion})");
        }
        finally
        {
            TestDirectories.Delete(storage);
        }
    }

    sealed class TypedLogger<T> : ILogger<T>
    {
        public RecordingLogger Inner { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Inner.Log(logLevel, eventId, state, exception, formatter);
    }
}

using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Infrastructure;
using Seq.Infrastructure.EventSourcing;
using Seq.Tests.Support;

namespace Seq.Tests.EventSourcing;

public sealed partial class SchemaMigrationTests
{
    [Fact]
    public async Task Migrating_twice_and_from_two_nodes_at_once_applies_each_step_exactly_once()
    {
        await using var dataSource = DependencyInjection.CreateDataSource(await TestPostgres.CreateDatabaseAsync("mig"));
        var migrator = new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance);

        await Task.WhenAll(migrator.MigrateAsync(default), migrator.MigrateAsync(default));
        await migrator.MigrateAsync(default);

        await using var command = dataSource.CreateCommand("SELECT array_agg(version ORDER BY version) FROM schema_migrations");
        var applied = (int[])(await command.ExecuteScalarAsync())!;
        applied.ShouldBe(SchemaMigrations.All.Select(s => s.Version).ToArray());
    }

    [Fact]
    public void Schema_steps_are_numbered_in_order_and_only_add()
    {
        SchemaMigrations.All.Select(s => s.Version).ShouldBe(Enumerable.Range(1, SchemaMigrations.All.Count));
        foreach (var step in SchemaMigrations.All)
            Destructive().IsMatch(step.Sql).ShouldBeFalse($"step {step.Version} ({step.Name}) must only add to the schema");
    }

    [Fact]
    public async Task A_node_migrating_alone_applies_and_logs_each_step_once_and_never_says_it_waits()
    {
        await using var dataSource = DependencyInjection.CreateDataSource(await TestPostgres.CreateDatabaseAsync("mig"));
        var logger = new RecordingLogger<SchemaMigrator>();

        await new SchemaMigrator(dataSource, logger).MigrateAsync(default);
        await new SchemaMigrator(dataSource, logger).MigrateAsync(default);

        logger.Entries.Select(e => e.Message.TrimEnd()).ShouldBe(SchemaMigrations.All.Select(s => $"Applied schema step {s.Version} ({s.Name})"));
        await using var names = dataSource.CreateCommand("SELECT array_agg(name ORDER BY version) FROM schema_migrations");
        ((string[])(await names.ExecuteScalarAsync())!).ShouldBe(SchemaMigrations.All.Select(s => s.Name).ToArray());
    }

    [Fact]
    public async Task A_node_that_finds_the_migration_lock_taken_does_nothing_until_it_is_free_then_refuses_a_schema_newer_than_it_knows()
    {
        // Another node holds the lock while it creates the bookkeeping table and records a step this binary does not
        // know. The waiting node must touch nothing before the lock is free: creating the table alongside would fail
        // on the other node's uncommitted one instead of reading what it committed.
        await using var dataSource = DependencyInjection.CreateDataSource(await TestPostgres.CreateDatabaseAsync("mig"));
        await using var holder = await dataSource.OpenConnectionAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({SchemaMigrator.MigrationLockId});
            CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now());
            INSERT INTO schema_migrations (version, name) VALUES ({SchemaMigrator.KnownVersion + 1}, 'from a newer release');
            """, holder, transaction))
            await take.ExecuteNonQueryAsync();

        var logger = new RecordingLogger<SchemaMigrator>();
        var migration = Task.Run(() => new SchemaMigrator(dataSource, logger).MigrateAsync(default));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!logger.Text.Contains($"Waiting for another node to finish migrating the database schema (advisory lock {SchemaMigrator.MigrationLockId})", StringComparison.Ordinal))
        {
            migration.IsCompleted.ShouldBeFalse(migration.Exception?.ToString());
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the waiting node said nothing");
            await Task.Delay(20);
        }
        await transaction.CommitAsync();

        var refused = await Should.ThrowAsync<SchemaNewerThanBinaryException>(migration);
        refused.Message.ShouldBe($"The database schema is at version {SchemaMigrator.KnownVersion + 1}, newer than this seqsvr knows (version {SchemaMigrator.KnownVersion}): another node runs a newer release; upgrade this node to it before starting it.");
        await using var tables = dataSource.CreateCommand("SELECT to_regclass('streams') IS NULL");
        ((bool)(await tables.ExecuteScalarAsync())!).ShouldBeTrue("a node that refuses applies no step");
    }

    [GeneratedRegex(@"\b(DROP|TRUNCATE|RENAME)\b|\bALTER\s+COLUMN\b.*\bTYPE\b|\bDELETE\s+FROM\b", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Destructive();
}

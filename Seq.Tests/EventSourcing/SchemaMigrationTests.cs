using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
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

    [GeneratedRegex(@"\b(DROP|TRUNCATE|RENAME)\b|\bALTER\s+COLUMN\b.*\bTYPE\b|\bDELETE\s+FROM\b", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Destructive();
}

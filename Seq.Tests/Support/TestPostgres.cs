using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Infrastructure.Postgres;

namespace Seq.Tests.Support;

/// <summary>
/// One PostgreSQL server for the whole test run: the one <c>SEQ_TEST_CONNECTIONSTRING</c> names, else a private cluster
/// under the run's <see cref="TestDirectories.Root"/>, stopped and deleted when the test process exits.
/// </summary>
public static partial class TestPostgres
{
    public const string ConnectionStringVariable = "SEQ_TEST_CONNECTIONSTRING";

    static readonly Lazy<Task<string>> Server = new(StartServerAsync);

    /// <summary>Creates a database of its own for a test, named <c>{prefix}_{random}</c>, and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        if (!DatabasePrefix().IsMatch(prefix))
            throw new ArgumentException("A database prefix is a lower-case identifier of at most 40 characters.", nameof(prefix));

        var server = await ServerConnectionStringAsync();
        var name = $"{prefix}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";

        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>A connection string to the server's <c>postgres</c> maintenance database.</summary>
    public static Task<string> ServerConnectionStringAsync() => Server.Value;

    static async Task<string> StartServerAsync()
    {
        var existing = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(existing))
            return new NpgsqlConnectionStringBuilder(existing) { Database = "postgres" }.ConnectionString;

        var storageRoot = TestDirectories.NewPath("postgres");
        EmbeddedPostgres cluster;
        try
        {
            cluster = await EmbeddedPostgres.StartAsync(storageRoot, NullLogger.Instance);
        }
        catch
        {
            TestDirectories.Delete(storageRoot);
            throw;
        }

        // Stopped before the run's root is removed; if the test host is killed first, the janitor stops it instead.
        TestDirectories.AtEndOfRun(() => cluster.StopAsync().GetAwaiter().GetResult());

        var connectionString = cluster.ConnectionStringFor("postgres");
        await SkipDurabilityAsync(connectionString);
        return connectionString;
    }

    /// <summary>
    /// The run's shared cluster is thrown away at the end, so PostgreSQL's own crash safety buys nothing here and costs
    /// every test's commits, database creations and drops a wait for the disk. What commits and what other sessions see
    /// is unchanged. The servers the tests start as processes keep the production settings of their own clusters, and
    /// the server's own files (audit, key, configuration) are synced as always.
    /// </summary>
    static async Task SkipDurabilityAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var statement in new[]
                 {
                     "ALTER SYSTEM SET fsync = off",
                     "ALTER SYSTEM SET synchronous_commit = off",
                     "ALTER SYSTEM SET full_page_writes = off",
                     "SELECT pg_reload_conf()",
                 })
        {
            await using var command = new NpgsqlCommand(statement, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,39}$")]
    private static partial Regex DatabasePrefix();
}

using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Infrastructure.Postgres;

namespace Seq.Tests.Support;

/// <summary>
/// One PostgreSQL server for the whole test run: the one <c>SEQ_TEST_CONNECTIONSTRING</c> names, else a private cluster
/// under a fresh temporary directory that is stopped and deleted when the test process exits.
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

        var storageRoot = Path.Combine(Path.GetTempPath(), $"seq-tests-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        EmbeddedPostgres cluster;
        try
        {
            cluster = await EmbeddedPostgres.StartAsync(storageRoot, NullLogger.Instance);
        }
        catch
        {
            DeleteDirectory(storageRoot);
            throw;
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                cluster.StopAsync().GetAwaiter().GetResult();
                DeleteDirectory(storageRoot);
            }
            catch (Exception e)
            {
                // Throwing here would crash the test host after a green run; say what was left behind instead.
                Console.Error.WriteLine($"The test PostgreSQL cluster under {storageRoot} was not cleaned up: {e.Message}");
            }
        };
        StartJanitor(storageRoot, cluster.DataDirectory);

        return cluster.ConnectionStringFor("postgres");
    }

    // vstest kills the test host 100 ms after asking it to exit, usually in the middle of the ProcessExit handler, and a
    // crashed or killed test host runs no handler at all. A detached process that outlives the test host stops the
    // server (SIGQUIT: immediate shutdown) and deletes the directory once the test host is gone.
    static void StartJanitor(string storageRoot, string dataDirectory)
    {
        const string script = """
            exec </dev/null >/dev/null 2>&1
            while kill -0 "$1"; do sleep 1; done
            postmaster=$(head -n 1 "$3/postmaster.pid")
            if [ -n "$postmaster" ] && kill -QUIT "$postmaster"; then
              for attempt in $(seq 100); do kill -0 "$postmaster" || break; sleep 0.1; done
            fi
            rm -rf -- "$2"
            """;

        try
        {
            var startInfo = new ProcessStartInfo("setsid")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in new[] { "--fork", "sh", "-c", script, "seq-tests-janitor", $"{Environment.ProcessId}", storageRoot, dataDirectory })
                startInfo.ArgumentList.Add(argument);
            using var setsid = Process.Start(startInfo);
            setsid?.WaitForExit();
        }
        catch (Win32Exception)
        {
            // No setsid (not Linux): the ProcessExit handler is all there is.
        }
    }

    static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,39}$")]
    private static partial Regex DatabasePrefix();
}

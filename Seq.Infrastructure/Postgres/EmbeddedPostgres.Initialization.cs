using System.Diagnostics;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Seq.Infrastructure.Storage;

namespace Seq.Infrastructure.Postgres;

// initdb, once per storage root, under a lock file; and what a failed initialization leaves behind.
public sealed partial class EmbeddedPostgres
{
    [UnsupportedOSPlatform("windows")]
    static async Task InitializeAsync(ClusterPaths paths, PostgresBinaries binaries, ILogger logger, CancellationToken cancellationToken)
    {
        RemoveLeftoversOfFailedInitializations(paths);
        if (Directory.Exists(paths.DataDirectory))
        {
            if (Directory.EnumerateFileSystemEntries(paths.DataDirectory).Any())
            {
                throw new EmbeddedPostgresException(
                    $"{paths.DataDirectory} exists but is not a PostgreSQL data directory (it has no PG_VERSION file). " +
                    "Move it out of the way to let the server create a new cluster there.");
            }
            Directory.Delete(paths.DataDirectory);
        }

        logger.LogInformation("Creating a PostgreSQL cluster in {DataDirectory}", paths.DataDirectory);
        var stopwatch = Stopwatch.StartNew();

        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        WritePrivateFile(paths.PasswordFile, password);

        // initdb works in a sibling that is renamed into place only once complete, so that a failed or interrupted
        // initdb never leaves a half-made data directory behind to block the next start.
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var staging = $"{paths.DataDirectory}{ClusterPaths.StagingMarker}{suffix}";
        var passwordForInitDb = Path.Combine(paths.ClusterDirectory, $"{ClusterPaths.PasswordForInitDbPrefix}{suffix}");
        try
        {
            Directory.CreateDirectory(staging, OwnerOnly);
            WritePrivateFile(passwordForInitDb, password);
            if (RunningAsRoot)
                await ChownToPostgresAsync("-h", [staging, passwordForInitDb], cancellationToken);

            var initDb = await RunAsPostgresAsync(
                binaries.InitDb,
                ["-D", staging, "-U", SuperUser, "--auth=scram-sha-256", $"--pwfile={passwordForInitDb}", "--encoding=UTF8", "--locale=C"],
                cancellationToken);

            if (!initDb.Succeeded)
            {
                throw new EmbeddedPostgresException(
                    $"initdb could not create a PostgreSQL cluster in {paths.DataDirectory} (exit code {initDb.ExitCode}): {initDb.Diagnostics(password)}");
            }

            // Our settings live in a file of their own, rewritten at every start; ALTER SYSTEM still overrides them.
            File.AppendAllText(Path.Combine(staging, "postgresql.conf"), $"{Environment.NewLine}include = '{ClusterPaths.SettingsFileName}'{Environment.NewLine}");
            Directory.Move(staging, paths.DataDirectory);
            try
            {
                DirectorySync.Flush(paths.ClusterDirectory);
            }
            catch (IOException e)
            {
                // A data directory whose name may not survive a crash is not kept: the next start makes it again.
                Directory.Move(paths.DataDirectory, staging);
                throw new EmbeddedPostgresException($"The new PostgreSQL cluster in {paths.DataDirectory} could not be made durable: {e.Message}", e);
            }
        }
        finally
        {
            File.Delete(passwordForInitDb);
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }

        logger.LogInformation("Created the PostgreSQL cluster in {Elapsed:0} ms", stopwatch.Elapsed.TotalMilliseconds);
    }

    [UnsupportedOSPlatform("windows")]
    static void CreateClusterDirectory(ClusterPaths paths)
    {
        Directory.CreateDirectory(paths.StorageRoot);
        if (Directory.Exists(paths.ClusterDirectory))
            return;

        Directory.CreateDirectory(paths.ClusterDirectory);
        File.SetUnixFileMode(paths.ClusterDirectory, RunningAsRoot ? OwnerOnlyOthersTraverse : OwnerOnly);
    }

    [UnsupportedOSPlatform("windows")]
    static async Task<FileStream> AcquireLockAsync(ClusterPaths paths, ILogger logger, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            UnixCreateMode = OwnerReadWrite,
        };

        var waited = Stopwatch.StartNew();
        var announced = false;
        while (true)
        {
            try
            {
                return new FileStream(paths.LockFile, options);
            }
            catch (IOException) when (waited.Elapsed < LockTimeout)
            {
                if (!announced)
                {
                    logger.LogInformation("Waiting for another process that is starting the PostgreSQL cluster in {ClusterDirectory}", paths.ClusterDirectory);
                    announced = true;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
            catch (IOException e)
            {
                throw new EmbeddedPostgresException(
                    $"Another process has held {paths.LockFile} for over {LockTimeout.TotalMinutes:0} minutes while starting the " +
                    "PostgreSQL cluster there; stop it, or choose another storage root.", e);
            }
        }
    }

    static async Task EnsurePostgresUserCanEnterAsync(ClusterPaths paths, CancellationToken cancellationToken)
    {
        var check = await RunAsync(RunUser, ["-u", SuperUser, "--", "test", "-x", paths.ClusterDirectory], cancellationToken);
        if (check.Succeeded)
            return;

        if (!string.IsNullOrWhiteSpace(check.StandardError))
        {
            throw new EmbeddedPostgresException(
                "PostgreSQL refuses to run as root, so the private cluster runs as the 'postgres' system user, but running " +
                $"as that user failed: {check.StandardError.Trim()}. Installing PostgreSQL (apt-get install -y postgresql) " +
                "creates that user; or point the server at an existing PostgreSQL server with SEQ_STORAGE_CONNECTIONSTRING.");
        }

        var blocked = paths.ClusterDirectory;
        foreach (var directory in SelfAndAncestors(paths.ClusterDirectory).Reverse())
        {
            var enter = await RunAsync(RunUser, ["-u", SuperUser, "--", "test", "-x", directory], cancellationToken);
            if (!enter.Succeeded)
            {
                blocked = directory;
                break;
            }
        }

        throw new EmbeddedPostgresException(
            $"PostgreSQL refuses to run as root, so the private cluster runs as the 'postgres' system user, and that user " +
            $"cannot enter {blocked} on the way to the storage root {paths.StorageRoot}. Choose a storage root that 'postgres' " +
            "can reach, outside home directories such as /root: for example /var/lib/seq (--storage /var/lib/seq or " +
            "SEQ_STORAGE_ROOTPATH=/var/lib/seq). Or point the server at an existing PostgreSQL server with SEQ_STORAGE_CONNECTIONSTRING.");
    }

    static string ReadPassword(ClusterPaths paths)
    {
        try
        {
            return File.ReadAllText(paths.PasswordFile).Trim();
        }
        catch (FileNotFoundException e)
        {
            throw new EmbeddedPostgresException(
                $"The PostgreSQL cluster in {paths.DataDirectory} exists but its password file {paths.PasswordFile} is missing, so " +
                "the server cannot sign in to it. Restore that file from a backup of the storage root, or move the data " +
                "directory away to start over with an empty cluster.", e);
        }
    }

    static void RemoveLeftoversOfFailedInitializations(ClusterPaths paths)
    {
        var cluster = new DirectoryInfo(paths.ClusterDirectory);
        foreach (var staging in cluster.EnumerateDirectories($"{Path.GetFileName(paths.DataDirectory)}{ClusterPaths.StagingMarker}*"))
            staging.Delete(recursive: true);
        foreach (var password in cluster.EnumerateFiles($"{ClusterPaths.PasswordForInitDbPrefix}*"))
            password.Delete();
    }

    static IEnumerable<string> SelfAndAncestors(string directory)
    {
        for (var current = directory; current is not null; current = Path.GetDirectoryName(current))
            yield return current;
    }
}

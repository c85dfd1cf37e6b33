using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Infrastructure;
using Seq.Infrastructure.Backups;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Postgres;
using Seq.Infrastructure.Security;
using Seq.Infrastructure.Storage;

namespace Seq.Api.Cli;

/// <summary>
/// How a command is being run: from a shell, or from an <c>Init/</c> script by a starting server, which already holds
/// the storage root and resolves relative paths against the script's folder.
/// </summary>
sealed record CliContext(bool StorageRootHeld, string? RelativeTo)
{
    public static readonly CliContext Shell = new(false, null);
}

static class RestoreCommands
{
    public const string DefaultBackupFolder = "Backups";
    const string BackupLocationVariable = "SEQ_STORAGE_BACKUPLOCATION";

    public static Command Restore(Option<string?> storage, CliConsole console, CliContext context)
    {
        var yes = new Option<bool>("-y", "--yes") { Description = "Restore without asking for confirmation." };
        var fromLatest = new Option<bool>("--from-latest") { Description = "Roll back to the newest backup in this instance's backup location, with the instance's own secret key." };
        var backup = new Option<string?>("--backup") { Description = "The .seqbac file to restore (full restore)." };
        var secretKey = new Option<string?>("--secret-key") { Description = "The secret key of the instance the backup came from; the restored storage root adopts it." };
        var enableApps = new Option<bool>("--enable-apps") { Description = "Restore app instances enabled. Accepted for compatibility: this server has no apps, so there are none to enable." };

        var command = new Command("restore",
            "Replace this storage root's metadata with a backup's, while no server runs on it. All or nothing: a failure leaves the storage root as it was.")
        {
            storage, yes, fromLatest, backup, secretKey, enableApps,
        };

        command.SetAction((result, cancellationToken) => console.RunAsync(async () =>
        {
            try
            {
                return await RunAsync(result.GetValue(storage), result.GetValue(yes), result.GetValue(fromLatest), result.GetValue(backup),
                    result.GetValue(secretKey), result.GetValue(enableApps), console, context, cancellationToken);
            }
            catch (Exception e) when (e is BackupFileException or StorageRootLockException or EmbeddedPostgresException or PostgresBinariesNotFoundException
                                           or NpgsqlException or InvalidOperationException)
            {
                throw new CliException($"Nothing was restored: {e.Message}");
            }
        }));
        return command;
    }

    static async Task<int> RunAsync(
        string? storageOption, bool yes, bool fromLatest, string? backupOption, string? secretKeyOption, bool enableApps,
        CliConsole console, CliContext context, CancellationToken cancellationToken)
    {
        if (fromLatest == (backupOption is not null))
            throw new CliException("Give either --from-latest (this instance's newest backup) or --backup=PATH (with --secret-key=KEY for a full restore into a fresh storage root).");
        if (fromLatest && secretKeyOption is not null)
            throw new CliException("--from-latest restores with the instance's own secret key; --secret-key goes with --backup.");

        var instance = CliInstance.Open(storageOption, console);
        instance.Configuration.Validate();
        var root = instance.StorageRoot;
        using var held = context.StorageRootHeld ? null : StorageRootLock.Acquire(root);

        var givenKey = secretKeyOption is null ? null : SecretKey.FromBase64(secretKeyOption);
        if (givenKey is null && !instance.HasSecretKey)
            throw new CliException($"There is no instance at {root} to take a secret key from: for a full restore into a fresh storage root give --secret-key=KEY with --backup=PATH.");

        var keyFile = Path.Combine(root, SecretKeyLoader.KeyFileName);
        var keyFileExisted = File.Exists(keyFile);
        var clusterDirectory = Path.Combine(root, "PostgreSQL");
        var clusterExisted = Directory.Exists(clusterDirectory);

        // The instance's own key is read without being created; a given key is checked against a stored one before anything is written.
        var key = givenKey ?? await instance.LoadSecretKeyAsync(cancellationToken);
        if (givenKey is not null && keyFileExisted)
        {
            var stored = await instance.LoadSecretKeyAsync(cancellationToken);
            if (!stored.Matches(givenKey))
                throw new CliException(
                    $"{root} already holds an instance with secret key {stored.KeyId}, not {givenKey.KeyId}: a full restore goes into a fresh storage root (or restore one of this instance's own backups).");
        }

        var path = fromLatest ? Latest(instance) : Path.GetFullPath(backupOption!, context.RelativeTo ?? Directory.GetCurrentDirectory());
        var (header, streams, events) = BackupRestore.Verify(path, key);

        if (!yes)
        {
            await console.Error.WriteLineAsync(
                $"This replaces all metadata at {root} (users, API keys, signals, settings, feeds) with the backup {Path.GetFileName(path)} made {header.CreatedAt:u} " +
                $"({streams} streams, {events} events). Type 'yes' to restore:");
            var answer = console.ReadLine();
            if (!string.Equals(answer?.Trim(), "yes", StringComparison.OrdinalIgnoreCase) && !string.Equals(answer?.Trim(), "y", StringComparison.OrdinalIgnoreCase))
                throw new CliException("Nothing was restored: the restore was not confirmed.");
        }

        EmbeddedPostgres? embedded = null;
        var succeeded = false;
        try
        {
            if (givenKey is not null && !keyFileExisted)
                await SecretKeyLoader.LoadAsync(root, SecretKeyOptions.FromSettings(instance.Configuration.EnvironmentAndFile) with { ConfiguredKey = givenKey.ToBase64() },
                    console.CreateLogger(), cancellationToken);

            var configuration = instance.Configuration.WithProtector(new AesGcmSecretProtector(key));
            var connectionString = configuration.EnvironmentAndFile("SEQ_STORAGE_CONNECTIONSTRING");
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                embedded = await EmbeddedPostgres.StartAsync(root, NullLogger.Instance, cancellationToken);
                connectionString = embedded.ConnectionString;
            }

            var services = new ServiceCollection().AddLogging().AddInfrastructure(connectionString).AddSingleton(TimeProvider.System).AddSingleton(key);
            await using var provider = services.BuildServiceProvider();
            await provider.GetRequiredService<SchemaMigrator>().MigrateAsync(cancellationToken);
            // The rebuild sends the same few projection statements 100,000 times: here, on data already stored once
            // and in a transaction that any failure rolls back whole, they are prepared after two uses (ADR 0014
            // keeps the server's own data source from preparing automatically).
            var bulk = new NpgsqlDataSourceBuilder(connectionString);
            bulk.ConnectionStringBuilder.MaxAutoPrepare = 64;
            bulk.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
            await using var dataSource = bulk.Build();
            var rebuild = new ProjectionRebuild(dataSource, provider.GetRequiredService<EventSerializer>(), provider.GetServices<IInlineProjection>());
            var restored = await BackupRestore.ApplyAsync(dataSource, rebuild, path, key, fromLatest ? "QuickRollback" : "FullRestore", TimeProvider.System, cancellationToken);
            succeeded = true;

            await console.Output.WriteLineAsync(
                $"Restored {restored.Streams} streams and {restored.Events} events from {restored.BackupFile} (made {restored.BackupCreatedAt:u}) into {root}; " +
                "sessions were ended, and the next start records the restore in the audit log.");
            if (enableApps)
                await console.Output.WriteLineAsync("--enable-apps: this server has no app instances, so there were none to enable.");
            return 0;
        }
        finally
        {
            if (embedded is not null)
                await embedded.DisposeAsync();
            if (!succeeded)
            {
                // A fresh storage root goes back to holding nothing of this restore.
                if (!clusterExisted && Directory.Exists(clusterDirectory))
                    Directory.Delete(clusterDirectory, recursive: true);
                if (!keyFileExisted)
                    File.Delete(keyFile);
            }
        }
    }

    /// <summary>Where the backups of the instance at this root are: storage.backupLocation, else Backups/ under the root.</summary>
    public static string BackupLocation(HostConfiguration configuration, string storageRoot) =>
        configuration.EnvironmentAndFile(BackupLocationVariable) is { Length: > 0 } location ? location : Path.Combine(storageRoot, DefaultBackupFolder);

    static string Latest(CliInstance instance)
    {
        var location = BackupLocation(instance.Configuration, instance.StorageRoot);
        return new BackupFiles(location).List().FirstOrDefault()?.FullPath
            ?? throw new CliException($"Nothing was restored: there is no backup in {location}.");
    }
}

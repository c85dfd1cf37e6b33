using System.CommandLine;
using Seq.Api.Cli;
using Seq.Api.Hosting;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Postgres;
using Seq.Infrastructure.Security;
using Seq.Infrastructure.Storage;
using Serilog.Extensions.Logging;

namespace Seq.Api;

/// <summary>The <c>seqsvr</c> command line. With no command, or <c>run</c>, it serves.</summary>
static class Program
{
    static Task<int> Main(string[] args) => InvokeAsync(args, CliConsole.FromProcess());

    /// <summary>The whole command line in-process, with its streams and environment given, for tests.</summary>
    internal static Task<int> InvokeAsync(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin, Func<string, string?> getEnvironmentVariable) =>
        InvokeAsync(args, new CliConsole(stdout, stderr, stdin, inputIsTerminal: false, getEnvironmentVariable));

    static Task<int> InvokeAsync(string[] args, CliConsole console) => InvokeAsync(args, console, CliContext.Shell);

    static async Task<int> InvokeAsync(string[] args, CliConsole console, CliContext context)
    {
        var storage = new Option<string?>("--storage")
        {
            Description = "The storage root: the private PostgreSQL cluster, configuration and backups live under it (default: SEQ_STORAGE_ROOTPATH, else a per-user folder).",
        };

        var run = new Command("run", "Run the server (the default when no command is given).") { storage };
        run.SetAction((result, cancellationToken) => RunAsync(result.GetValue(storage), console, cancellationToken));

        var root = new RootCommand("seqsvr: the Seq metadata, security and auditing server.")
        {
            run,
            KeyCommands.ShowKey(storage, console),
            ConfigCommands.Config(storage, console),
            ConfigCommands.Secret(storage, console),
            AuditCommands.Audit(storage, console),
            RestoreCommands.Restore(storage, console, context),
        };
        root.Options.Add(storage);
        root.SetAction((result, cancellationToken) => RunAsync(result.GetValue(storage), console, cancellationToken));

        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = console.Output, Error = console.Error });
    }

    static async Task<int> RunAsync(string? storageOption, CliConsole console, CancellationToken cancellationToken)
    {
        var logger = ServerLog.CreateBootstrapLogger();
        using var loggerFactory = new SerilogLoggerFactory(logger);
        EmbeddedPostgres? embedded = null;
        IDisposable? storageRootLock = null;
        try
        {
            var storageRoot = StorageRoot.Resolve(storageOption, Environment.GetEnvironmentVariable);
            var configuration = HostConfiguration.Load(storageRoot, Environment.GetEnvironmentVariable);
            // Before the lock, the secret key or the private cluster is created: a start that is refused leaves nothing behind.
            configuration.Validate();
            // Before anything under the root is created or changed: a second server on it must change nothing.
            storageRootLock = StorageRootLock.Acquire(storageRoot);
            // Before the secret key is loaded: a full restore brings the key the storage root adopts.
            await InitScripts.RunAsync(storageRoot, (initArgs, context) => InvokeAsync(initArgs, console, context), console, cancellationToken);
            var secretKey = await SecretKeyLoader.LoadAsync(
                storageRoot, SecretKeyOptions.FromSettings(configuration.EnvironmentAndFile), loggerFactory.CreateLogger("Seq.SecretKey"), cancellationToken);
            configuration = configuration.WithProtector(new AesGcmSecretProtector(secretKey));
            // Only now: the Seq server's API key is a secret, readable with the secret key.
            ServerLog.Configure(logger, ServerLogOptions.FromSettings(storageRoot, configuration));

            var connectionString = configuration.EnvironmentAndFile("SEQ_STORAGE_CONNECTIONSTRING");
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                logger.Information("Using storage root {StorageRoot} with a private PostgreSQL cluster", storageRoot);
                embedded = await EmbeddedPostgres.StartAsync(storageRoot, loggerFactory.CreateLogger("Seq.Storage"), cancellationToken);
                connectionString = embedded.ConnectionString;
            }

            var options = new ServerOptions(connectionString, ServerOptions.ListenUrisFrom(configuration.EnvironmentAndFile("SEQ_API_LISTENURIS")), secretKey)
            {
                BackupLocation = RestoreCommands.BackupLocation(configuration, storageRoot),
                FirstRun = new FirstRunOptions(
                    configuration.EnvironmentAndFile("SEQ_FIRSTRUN_ADMINUSERNAME") is { Length: > 0 } username ? username : "admin",
                    configuration.EnvironmentAndFile("SEQ_FIRSTRUN_ADMINPASSWORD"),
                    configuration.EnvironmentAndFile("SEQ_FIRSTRUN_ADMINPASSWORDHASH"),
                    string.Equals(configuration.EnvironmentAndFile("SEQ_FIRSTRUN_NOAUTHENTICATION"), "true", StringComparison.OrdinalIgnoreCase))
                {
                    IngestApiKey = configuration.EnvironmentAndFile("SEQ_FIRSTRUN_INGESTAPIKEY"),
                },
                NodeName = configuration.EnvironmentAndFile("SEQ_API_NODENAME") is { Length: > 0 } nodeName ? nodeName : null,
                TrustedProxies = (configuration.EnvironmentAndFile("SEQ_API_TRUSTEDPROXIES") ?? "")
                    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                IngestionListenUris = (configuration.EnvironmentAndFile("SEQ_API_INGESTIONLISTENURIS") ?? "")
                    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Certificate = configuration.EnvironmentAndFile("SEQ_API_CERTIFICATEPATH") is { Length: > 0 } certificatePath
                    ? ServerCertificate.Load(certificatePath, configuration.EnvironmentAndFile("SEQ_API_CERTIFICATEKEYPATH"),
                        configuration.EnvironmentAndFile("SEQ_API_CERTIFICATEPASSWORD"))
                    : null,
                Audit = new AuditOptions(
                    configuration.EnvironmentAndFile("SEQ_AUDIT_AUDITPATH"),
                    configuration.EnvironmentAndFile("SEQ_AUDIT_AUDITSERVERURL") is { Length: > 0 } url ? new Uri(url) : null,
                    configuration.EnvironmentAndFile("SEQ_AUDIT_AUDITSERVERAPIKEY"))
                {
                    File = new FileAuditTargetOptions(
                        TimeSpan.FromSeconds(Whole(configuration, "SEQ_AUDIT_WRITETIMEOUTSECONDS", FileAuditTargetOptions.DefaultWriteTimeoutSeconds, 1, 3600)),
                        Whole(configuration, "SEQ_AUDIT_MINIMUMFREESPACEMB", FileAuditTargetOptions.DefaultMinimumFreeMegabytes, 0, 1024 * 1024) * 1024L * 1024),
                    Limits = AuditLogLimits.Default with
                    {
                        MaximumQueuedLines = (int)Whole(configuration, "SEQ_AUDIT_QUEUELIMIT", AuditLogLimits.DefaultMaximumQueuedLines, 10, 10_000_000),
                    },
                },
            };
            await using var app = SeqServer.Build(options, logger);
            await SeqServer.StartAsync(app, cancellationToken);
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
        catch (Exception e) when (e is PostgresBinariesNotFoundException or EmbeddedPostgresException
                                       or SecretKeyException or SecretProtectionException or HostConfigurationException or FirstRunException
                                       or StorageRootLockException or SchemaNewerThanBinaryException)
        {
            logger.Fatal("{Problem}", e.Message);
            return 1;
        }
        catch (Exception e)
        {
            logger.Fatal(e, "The server could not start");
            return 1;
        }
        finally
        {
            if (embedded is not null)
                await embedded.DisposeAsync();
            storageRootLock?.Dispose();
            // Flushes the file and sends what the Seq sink still holds.
            logger.Dispose();
        }
    }

    /// <exception cref="HostConfigurationException">The setting is outside its range.</exception>
    static long Whole(HostConfiguration configuration, string environmentVariable, long fallback, long minimum, long maximum)
    {
        var text = configuration.EnvironmentAndFile(environmentVariable);
        if (text is null)
            return fallback;
        var value = long.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        var key = HostSettingCatalogue.FindByEnvironmentVariable(environmentVariable)!.Key;
        return value >= minimum && value <= maximum
            ? value
            : throw new HostConfigurationException($"{key} must be between {minimum} and {maximum}, not {value}.");
    }
}

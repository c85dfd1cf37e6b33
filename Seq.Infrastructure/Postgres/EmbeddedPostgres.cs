using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Seq.Infrastructure.Postgres;

/// <summary>
/// A private PostgreSQL cluster under the storage root, from the machine's PostgreSQL binaries. It listens on no TCP
/// address, only on a Unix socket in a directory that only its owner can enter, and signs in with a random password
/// kept in <c>{storageRoot}/PostgreSQL/password</c>.
/// </summary>
public sealed partial class EmbeddedPostgres : IAsyncDisposable
{
    const string DatabaseName = "seq";
    const string SuperUser = "postgres";
    const int DefaultPort = 5432;

    // sun_path holds 108 bytes on Linux and 104 on macOS; PostgreSQL also needs room for ".lock" beside the socket.
    const int MaxSocketPathBytes = 100;
    const long MaxLogBytes = 10 * 1024 * 1024;
    const string PgCtlTimeoutSeconds = "60";

    const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    const UnixFileMode OwnerOnlyOthersTraverse = OwnerOnly | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(3);

    // PostgreSQL refuses to run as root, so root runs the cluster as the postgres system user.
    static readonly bool RunningAsRoot = Environment.IsPrivilegedProcess;

    readonly PostgresBinaries _binaries;
    readonly ClusterPaths _paths;
    readonly ILogger _logger;
    readonly string _password;
    readonly ConcurrentDictionary<string, bool> _issuedConnectionStrings = new();
    readonly Lock _stopGate = new();
    Task? _stopping;
    bool _startedHere;
    string _socketDirectory;
    int _port = DefaultPort;

    EmbeddedPostgres(PostgresBinaries binaries, ClusterPaths paths, ILogger logger, string password)
    {
        _binaries = binaries;
        _paths = paths;
        _logger = logger;
        _password = password;
        _socketDirectory = paths.SocketDirectory;
    }

    /// <summary>An Npgsql connection string for the <c>seq</c> database, over the Unix socket.</summary>
    public string ConnectionString => ConnectionStringFor(DatabaseName);

    /// <summary>The directory that holds the cluster's Unix socket.</summary>
    public string SocketDirectory => _socketDirectory;

    /// <summary>The cluster's data directory, <c>{storageRoot}/PostgreSQL/data</c>.</summary>
    public string DataDirectory => _paths.DataDirectory;

    /// <summary>An Npgsql connection string for <paramref name="database"/> on this cluster, over the Unix socket.</summary>
    public string ConnectionStringFor(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = _socketDirectory,
            Port = _port,
            Username = SuperUser,
            Password = _password,
            Database = database,
            MaxPoolSize = 100,
        }.ConnectionString;
        _issuedConnectionStrings.TryAdd(connectionString, true);
        return connectionString;
    }

    /// <summary>
    /// Starts the cluster under <paramref name="storageRoot"/>, initializing it on first use, or adopts it if a previous
    /// run left it running; then makes sure the <c>seq</c> database exists.
    /// </summary>
    /// <exception cref="PostgresBinariesNotFoundException">PostgreSQL is not installed.</exception>
    /// <exception cref="EmbeddedPostgresException">The cluster could not be initialized or started; the message says why.</exception>
    public static async Task<EmbeddedPostgres> StartAsync(string storageRoot, ILogger logger, CancellationToken cancellationToken = default) =>
        await StartAsync(storageRoot, PostgresBinaries.Locate(), logger, cancellationToken);

    /// <inheritdoc cref="StartAsync(string, ILogger, CancellationToken)"/>
    public static async Task<EmbeddedPostgres> StartAsync(string storageRoot, PostgresBinaries binaries, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(storageRoot);
        ArgumentNullException.ThrowIfNull(binaries);
        ArgumentNullException.ThrowIfNull(logger);
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("The private PostgreSQL cluster needs Linux or macOS; on Windows set SEQ_STORAGE_CONNECTIONSTRING.");

        var paths = new ClusterPaths(Path.TrimEndingDirectorySeparator(Path.GetFullPath(storageRoot)));
        CreateClusterDirectory(paths);

        await using var clusterLock = await AcquireLockAsync(paths, logger, cancellationToken);

        if (RunningAsRoot)
            await EnsurePostgresUserCanEnterAsync(paths, cancellationToken);

        if (!File.Exists(Path.Combine(paths.DataDirectory, "PG_VERSION")))
            await InitializeAsync(paths, binaries, logger, cancellationToken);

        var cluster = new EmbeddedPostgres(binaries, paths, logger, ReadPassword(paths));
        await cluster.StartOrAdoptAsync(cancellationToken);
        return cluster;
    }

    /// <summary>
    /// Stops the cluster (<c>pg_ctl stop -m fast</c>) if this instance started it; one it found already running is
    /// someone else's and is left running. Calling it again does nothing.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_stopGate)
        {
            if (_stopping is null || _stopping.IsFaulted || _stopping.IsCanceled)
                _stopping = StopCoreAsync(cancellationToken);
            return _stopping;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            // Disposal runs on the way out, often in a finally block; throwing here would hide the original failure.
            _logger.LogError(e, "The private PostgreSQL cluster in {DataDirectory} did not stop cleanly", _paths.DataDirectory);
        }
    }

    async Task EnsureDatabaseAsync(string database, CancellationToken cancellationToken)
    {
        var maintenance = new NpgsqlConnectionStringBuilder(ConnectionStringFor("postgres")) { Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(maintenance);
        await connection.OpenAsync(cancellationToken);

        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection))
        {
            exists.Parameters.Add(new NpgsqlParameter { Value = database });
            if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
                return;
        }

        try
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
            _logger.LogInformation("Created the database {Database}", database);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            // Someone else created it between our check and our CREATE.
        }
    }
}

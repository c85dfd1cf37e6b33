using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;
using Seq.Infrastructure.Storage;

namespace Seq.Infrastructure.Postgres;

/// <summary>
/// A private PostgreSQL cluster under the storage root, from the machine's PostgreSQL binaries. It listens on no TCP
/// address, only on a Unix socket in a directory that only its owner can enter, and signs in with a random password
/// kept in <c>{storageRoot}/PostgreSQL/password</c>.
/// </summary>
public sealed class EmbeddedPostgres : IAsyncDisposable
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

    [UnsupportedOSPlatform("windows")]
    async Task StartOrAdoptAsync(CancellationToken cancellationToken)
    {
        if (await IsRunningAsync(cancellationToken))
        {
            _logger.LogInformation("Using the PostgreSQL cluster already running in {DataDirectory}; it is left running at exit", _paths.DataDirectory);
        }
        else
        {
            await StartServerAsync(cancellationToken);
            _startedHere = true;
        }

        ReadServerAddress();

        try
        {
            await EnsureDatabaseAsync(DatabaseName, cancellationToken);
        }
        catch when (_startedHere)
        {
            await DisposeAsync();
            throw;
        }
    }

    async Task<bool> IsRunningAsync(CancellationToken cancellationToken)
    {
        var status = await RunAsPostgresAsync(_binaries.PgCtl, ["status", "-D", _paths.DataDirectory], cancellationToken);
        if (!status.Succeeded || !PidFileIsStale(out var pid))
            return status.Succeeded;

        // pg_ctl and the postmaster both take any live process with the recorded pid for the old server. In containers
        // a restarted process often gets that very pid, and an orphaned postmaster may linger as a zombie nobody reaps;
        // either way the server would refuse to start until the file is gone.
        _logger.LogWarning("Removing the stale postmaster.pid in {DataDirectory}: process {Pid} is not a running PostgreSQL server", _paths.DataDirectory, pid);
        File.Delete(_paths.PidFile);
        return false;
    }

    bool PidFileIsStale(out int pid)
    {
        pid = 0;
        try
        {
            var firstLine = File.ReadLines(_paths.PidFile).FirstOrDefault();
            if (!int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out pid) || !File.Exists($"/proc/{pid}/stat"))
                return false;

            // "pid (comm) state ...", where comm may itself contain spaces and parentheses.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 1)..].TrimStart().FirstOrDefault();
            var command = File.ReadAllText($"/proc/{pid}/comm").Trim();
            return command != "postgres" || state is 'Z' or 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    [UnsupportedOSPlatform("windows")]
    async Task StartServerAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        await PrepareSocketDirectoryAsync(_paths.SocketDirectory, cancellationToken);
        _socketDirectory = _paths.SocketDirectory;
        WriteSettings();
        PrepareLog();
        if (RunningAsRoot)
            await ChownToPostgresAsync("-R", [_paths.DataDirectory, _paths.LogDirectory], cancellationToken);

        for (var attempt = 1; ; attempt++)
        {
            var start = await RunAsPostgresAsync(
                _binaries.PgCtl,
                ["start", "-D", _paths.DataDirectory, "-l", _paths.LogFile, "-w", "-t", PgCtlTimeoutSeconds],
                cancellationToken);
            if (start.Succeeded)
                break;

            // After a postmaster is killed its children take a moment to notice and exit, and until they have, a new
            // postmaster refuses to start beside them.
            var logTail = LogTail();
            if (attempt < 10 && logTail.Contains("pre-existing shared memory block", StringComparison.Ordinal))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
                continue;
            }

            throw new EmbeddedPostgresException(
                $"PostgreSQL did not start in {_paths.DataDirectory} (pg_ctl exited with {start.ExitCode}): {start.Diagnostics(_password)}" +
                $"{Environment.NewLine}The end of {_paths.LogFile}:{Environment.NewLine}{logTail}");
        }

        _logger.LogInformation("Started PostgreSQL in {DataDirectory} in {Elapsed:0} ms", _paths.DataDirectory, stopwatch.Elapsed.TotalMilliseconds);
    }

    async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        // Pooled connections would outlive the server and fail on first use after a restart.
        foreach (var connectionString in _issuedConnectionStrings.Keys)
        {
            using var connection = new NpgsqlConnection(connectionString);
            NpgsqlConnection.ClearPool(connection);
        }

        // Whoever started it may still be using it: stopping it would take their database away from under them.
        if (!_startedHere || !await IsRunningAsync(cancellationToken))
            return;

        var stop = await RunAsPostgresAsync(
            _binaries.PgCtl,
            ["stop", "-D", _paths.DataDirectory, "-m", "fast", "-w", "-t", PgCtlTimeoutSeconds],
            cancellationToken);

        if (!stop.Succeeded && await IsRunningAsync(cancellationToken))
        {
            throw new EmbeddedPostgresException(
                $"PostgreSQL in {_paths.DataDirectory} did not stop (pg_ctl exited with {stop.ExitCode}): {stop.Diagnostics(_password)}");
        }

        _logger.LogInformation("Stopped PostgreSQL in {DataDirectory}", _paths.DataDirectory);
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

    // postmaster.pid says where the server really listens, which can differ from what we configured
    // when an operator changed port or socket directory with ALTER SYSTEM, or when we adopted a running server.
    void ReadServerAddress()
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(_paths.PidFile);
        }
        catch (IOException)
        {
            return;
        }

        if (lines.Length >= 5 && !string.IsNullOrWhiteSpace(lines[4]))
            _socketDirectory = lines[4].Trim();
        if (lines.Length >= 4 && int.TryParse(lines[3], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            _port = port;
    }

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

    [UnsupportedOSPlatform("windows")]
    async Task PrepareSocketDirectoryAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);

        // A directory under /tmp may have been made by someone else; taking it over without following links first
        // means nobody else can swap it for a link afterwards.
        if (RunningAsRoot)
            await ChownToPostgresAsync("-h", [directory], cancellationToken);
        if (new DirectoryInfo(directory).LinkTarget is not null)
            throw new EmbeddedPostgresException($"The socket directory {directory} is a symbolic link; remove it and start again.");

        try
        {
            File.SetUnixFileMode(directory, OwnerOnly);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new EmbeddedPostgresException($"The socket directory {directory} belongs to another user; remove it and start again.", e);
        }

        // The server is not running, so anything here is left over (or planted) and would only get in its way.
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo { LinkTarget: null } subdirectory)
                subdirectory.Delete(recursive: true);
            else
                entry.Delete();
        }
    }

    [UnsupportedOSPlatform("windows")]
    void WriteSettings()
    {
        var settings = new StringBuilder()
            .AppendLine("# Written by Seq at every start. To change a setting, use ALTER SYSTEM, which takes precedence.")
            .AppendLine("listen_addresses = ''")
            .AppendLine(CultureInfo.InvariantCulture, $"port = {DefaultPort}")
            .AppendLine(CultureInfo.InvariantCulture, $"unix_socket_directories = '{_paths.SocketDirectory.Replace("'", "''", StringComparison.Ordinal)}'")
            .AppendLine("unix_socket_permissions = 0700")
            .AppendLine("fsync = on")
            .AppendLine("synchronous_commit = on")
            .AppendLine("max_connections = 200")
            .AppendLine("shared_buffers = 128MB")
            .ToString();

        WritePrivateFile(Path.Combine(_paths.DataDirectory, ClusterPaths.SettingsFileName), settings);
    }

    [UnsupportedOSPlatform("windows")]
    void PrepareLog()
    {
        if (!Directory.Exists(_paths.LogDirectory))
            Directory.CreateDirectory(_paths.LogDirectory, OwnerOnly);

        // pg_ctl only ever appends; keeping one previous file bounds the space the log takes.
        var log = new FileInfo(_paths.LogFile);
        if (log.Exists && log.Length > MaxLogBytes)
            log.MoveTo($"{_paths.LogFile}.1", overwrite: true);
    }

    string LogTail()
    {
        try
        {
            using var log = new FileStream(_paths.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            log.Seek(Math.Max(0, log.Length - 4096), SeekOrigin.Begin);
            using var reader = new StreamReader(log);
            var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join(Environment.NewLine, lines.TakeLast(20)).Replace(_password, ProgramOutput.Redacted, StringComparison.Ordinal);
        }
        catch (IOException e)
        {
            return $"(could not read it: {e.Message})";
        }
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

    [UnsupportedOSPlatform("windows")]
    static void WritePrivateFile(string path, string contents)
    {
        // Created with owner-only permissions from the start, so a secret is never readable by anyone else, even briefly;
        // and durably, with a failed fsync reported (ADR 0009), since a lost password file locks the server out of its cluster.
        try
        {
            DurableFile.Replace(path, OwnerReadWrite, file => file.Write(Encoding.UTF8.GetBytes(contents)));
        }
        catch (IOException e)
        {
            throw new EmbeddedPostgresException($"The PostgreSQL cluster's file {path} could not be written: {e.Message}", e);
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

    // "-R" for whole trees, "-h" for single entries so that a link is never followed.
    static Task ChownToPostgresAsync(string option, IReadOnlyList<string> paths, CancellationToken cancellationToken) =>
        RunCheckedAsync(Chown, [option, "--", $"{SuperUser}:", .. paths], cancellationToken);

    static async Task RunCheckedAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await RunAsync(fileName, arguments, cancellationToken);
        if (!result.Succeeded)
            throw new EmbeddedPostgresException($"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} failed (exit code {result.ExitCode}): {result.Diagnostics(null)}");
    }

    static Task<ProgramOutput> RunAsPostgresAsync(string binary, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        RunningAsRoot
            ? RunAsync(RunUser, ["-u", SuperUser, "--", binary, .. arguments], cancellationToken)
            : RunAsync(binary, arguments, cancellationToken);

    static Task<ProgramOutput> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ExternalProgram.RunAsync(fileName, arguments, cancellationToken);

    static string RunUser => FirstExisting("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser") ?? "runuser";

    static string Chown => FirstExisting("/usr/bin/chown", "/bin/chown") ?? "chown";

    static string? FirstExisting(params string[] paths) => paths.FirstOrDefault(File.Exists);

    sealed class ClusterPaths(string storageRoot)
    {
        public const string SettingsFileName = "seq.conf";
        public const string StagingMarker = ".initializing-";
        public const string PasswordForInitDbPrefix = ".initdb-password-";

        public string StorageRoot { get; } = storageRoot;
        public string ClusterDirectory { get; } = Path.Combine(storageRoot, "PostgreSQL");
        public string DataDirectory => Path.Combine(ClusterDirectory, "data");
        public string PidFile => Path.Combine(DataDirectory, "postmaster.pid");
        public string PasswordFile => Path.Combine(ClusterDirectory, "password");
        public string LockFile => Path.Combine(ClusterDirectory, ".lock");
        public string LogDirectory => Path.Combine(ClusterDirectory, "log");
        public string LogFile => Path.Combine(LogDirectory, "postgresql.log");

        // The socket's full path must fit in sun_path; a deep storage root gets a short directory of its own under /tmp.
        public string SocketDirectory
        {
            get
            {
                var preferred = Path.Combine(ClusterDirectory, "run");
                if (Encoding.UTF8.GetByteCount($"{preferred}/.s.PGSQL.{DefaultPort}") <= MaxSocketPathBytes)
                    return preferred;

                var hash = SHA256.HashData(Encoding.UTF8.GetBytes(StorageRoot));
                return $"/tmp/seq-pg-{Convert.ToHexStringLower(hash.AsSpan(0, 4))}";
            }
        }
    }
}

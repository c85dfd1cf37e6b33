using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Seq.Infrastructure.Postgres;

// Starting the server with pg_ctl, adopting one already running on this data directory, and stopping it.
public sealed partial class EmbeddedPostgres
{
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
}

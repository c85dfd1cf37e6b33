using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Application.Settings;
using Seq.Domain.Settings;
using Seq.Infrastructure.Auditing;

namespace Seq.Infrastructure.Backups;

/// <summary>
/// The daily backup at <c>BackupUtcTimeOfDay</c>. Every node runs this schedule; a PostgreSQL advisory lock and a row
/// per day make exactly one of the nodes that share a database back up each day. A node that dies mid-backup releases
/// the lock without having recorded the day, so another node that is due takes it up. A time that passed while no
/// server ran is not made up: the next backup is at the next occurrence of the time. The node that makes the day's
/// backup audits it as <c>Backup/ScheduledCreate</c>, a system-initiated operation (<see cref="AuditCatalogue.BackupScheduled"/>).
/// </summary>
public sealed class BackupSchedule(
    BackupService backups, NpgsqlDataSource dataSource, ISettingsReadModel settings, AuditLog audit, TimeProvider clock, ILogger<BackupSchedule> logger)
    : BackgroundService
{
    /// <summary>The server itself, as the principal of the scheduled backup's audit events: no user or API key asked for it.</summary>
    public static readonly Principal Scheduler = new(PrincipalType.Public, "Backup schedule", "principal-backup-schedule", null, new HashSet<Seq.Domain.Security.Permission>());

    // Any fixed number nothing else in the database uses.
    const long BackupLockId = 0x5E9_BAC_0001;

    /// <summary>How often a change to the time of day is picked up while waiting.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long the schedule waits after a failure before it looks at its time again: a database that cannot be
    /// reached must cost one error a minute in the log, not one per round trip.
    /// </summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMinutes(1);

    readonly string _node = $"{Environment.MachineName}/{Environment.ProcessId}";

    /// <summary>
    /// How long PostgreSQL takes at most to notice that the node holding the backup lock has gone without closing its
    /// connection (a host that lost power or its network), and so to release the lock to a waiting node. A process
    /// that is killed closes its socket, and the lock is released at once.
    /// </summary>
    public static TimeSpan TakeoverTime { get; set; } = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var after = clock.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var due = NextOccurrence(after, await TimeOfDayAsync(stoppingToken));
                var now = clock.GetUtcNow();
                if (now < due)
                {
                    var wait = due - now;
                    await Task.Delay(wait < RecheckInterval ? wait : RecheckInterval, clock, stoppingToken);
                    continue;
                }
                await RunOnceAsync(DateOnly.FromDateTime(due.UtcDateTime), stoppingToken);
                after = due;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                // A start that failed (a port in use) disposes the database before the host stops its services.
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "The scheduled backup failed; the next attempt is at the next scheduled time, looked at again in {RetryDelay}", RetryDelay);
                after = clock.GetUtcNow();
                try
                {
                    await Task.Delay(RetryDelay, clock, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    public static DateTimeOffset NextOccurrence(DateTimeOffset after, TimeOnly timeOfDay)
    {
        var today = new DateTimeOffset(DateOnly.FromDateTime(after.UtcDateTime).ToDateTime(timeOfDay), TimeSpan.Zero);
        return today > after ? today : today.AddDays(1);
    }

    /// <summary>Backs up for <paramref name="day"/> unless a node sharing the database already has; true if this node did.</summary>
    public async Task<bool> RunOnceAsync(DateOnly day, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await BoundTakeoverAsync(connection, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var @lock = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            @lock.Parameters.Add(new NpgsqlParameter { Value = BackupLockId });
            await @lock.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var done = new NpgsqlCommand("SELECT node FROM backup_days WHERE day = $1", connection, transaction))
        {
            done.Parameters.Add(new NpgsqlParameter { Value = day });
            if (await done.ExecuteScalarAsync(cancellationToken) is string node)
            {
                logger.LogInformation("The backup for {BackupDay} was made by {BackupNode}", day, node);
                return false;
            }
        }

        var file = await CreateAuditedAsync(day, cancellationToken);
        await using (var record = new NpgsqlCommand("INSERT INTO backup_days (day, node, file_name, completed) VALUES ($1, $2, $3, now())", connection, transaction))
        {
            record.Parameters.Add(new NpgsqlParameter { Value = day });
            record.Parameters.Add(new NpgsqlParameter { Value = _node });
            record.Parameters.Add(new NpgsqlParameter { Value = file.FileName });
            await record.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    // Begin is durable before the snapshot is taken, as for a backup asked for through the API; if it cannot be made
    // durable the backup is not made (the error is logged, and the next attempt is at the next scheduled time).
    async Task<BackupFile> CreateAuditedAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var operation = Guid.CreateVersion7();
        var entry = AuditCatalogue.BackupScheduled;
        KeyValuePair<string, object?>[] properties = [new("BackupDay", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))];
        await audit.WriteAsync(new AuditEntry(entry.Category, entry.Operation, AuditEventKind.Begin, operation,
            "Beginning the scheduled backup for {BackupDay}", properties), Scheduler, null, cancellationToken);
        BackupFile file;
        try
        {
            file = await backups.CreateFileAsync(cancellationToken);
        }
        catch (Exception e)
        {
            await audit.WriteAsync(new AuditEntry(entry.Category, entry.Operation, AuditEventKind.Fail, operation,
                "The scheduled backup for {BackupDay} failed", properties, e.ToString()), Scheduler, null, CancellationToken.None);
            throw;
        }
        await audit.WriteAsync(new AuditEntry(entry.Category, entry.Operation, AuditEventKind.Complete, operation,
            "Completed the scheduled backup for {BackupDay}: {BackupId}, {FileSizeBytes} bytes",
            [.. properties, new("BackupId", file.Id), new("FileSizeBytes", file.SizeInBytes)]), Scheduler, null, CancellationToken.None);
        return file;
    }

    // The server's keepalive probes on the lock connection: idle a third of the time, then four probes. Ignored on a
    // Unix socket, where a dead peer is seen at once. They stay on the pooled connection afterwards (no reset on
    // close), which costs nothing.
    static async Task BoundTakeoverAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var seconds = Math.Max(4, (int)TakeoverTime.TotalSeconds);
        await using var keepalive = new NpgsqlCommand(
            "SELECT set_config('tcp_keepalives_idle', $1, false), set_config('tcp_keepalives_interval', $2, false), set_config('tcp_keepalives_count', '4', false)",
            connection);
        keepalive.Parameters.Add(new NpgsqlParameter { Value = (seconds / 3).ToString(CultureInfo.InvariantCulture) });
        keepalive.Parameters.Add(new NpgsqlParameter { Value = Math.Max(1, (seconds - seconds / 3) / 4).ToString(CultureInfo.InvariantCulture) });
        await keepalive.ExecuteNonQueryAsync(cancellationToken);
    }

    async Task<TimeOnly> TimeOfDayAsync(CancellationToken cancellationToken)
    {
        var changed = await settings.GetChangedValuesAsync(cancellationToken);
        var text = changed.GetValueOrDefault(SettingCatalogue.BackupUtcTimeOfDay.Name) ?? SettingCatalogue.BackupUtcTimeOfDay.DefaultValue;
        return TimeOnly.ParseExact(text, ["HH:mm", "HH:mm:ss"], CultureInfo.InvariantCulture);
    }
}

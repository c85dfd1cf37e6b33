using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Seq.Application.Settings;
using Seq.Domain.Settings;

namespace Seq.Infrastructure.Events;

public sealed record EventRetentionOptions(TimeSpan Interval)
{
    public static EventRetentionOptions Default { get; } = new(TimeSpan.FromMinutes(10));
}

/// <summary>What one retention pass did: whether this node held the lock, and which day partitions it dropped.</summary>
public sealed record RetentionPass(bool Ran, IReadOnlyList<string> Dropped);

/// <summary>
/// Drops whole day partitions of log events older than the retention setting. Nodes that share the database take
/// turns: a pass runs only while it holds a transaction-level advisory lock, and a node that finds it taken skips.
/// </summary>
public sealed class EventRetention(NpgsqlDataSource dataSource, ISettingsReadModel settings, TimeProvider clock, EventRetentionOptions options, ILogger<EventRetention> logger)
    : BackgroundService
{
    public const long LockId = 0x5E9_4E7E_0001;

    public async Task<RetentionPass> RunOnceAsync(CancellationToken cancellationToken)
    {
        var changed = await settings.GetChangedValuesAsync(cancellationToken);
        var days = long.Parse(changed.GetValueOrDefault(SettingCatalogue.EventRetentionDays.Name) ?? SettingCatalogue.EventRetentionDays.DefaultValue, CultureInfo.InvariantCulture);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock($1)", connection, transaction))
        {
            take.Parameters.Add(new NpgsqlParameter { Value = LockId });
            if (!(bool)(await take.ExecuteScalarAsync(cancellationToken))!)
                return new RetentionPass(false, []);
        }
        if (days == 0)
            return new RetentionPass(true, []);

        // A partition goes when its whole day is older than the window, which starts at midnight UTC `days` days ago.
        var oldestKept = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(-(int)Math.Min(days, 36500));
        var dropped = new List<string>();
        var partitions = new List<string>();
        await using (var list = new NpgsqlCommand("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'log_events'::regclass ORDER BY c.relname
            """, connection, transaction))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                partitions.Add(reader.GetString(0));
        }
        foreach (var partition in partitions)
        {
            if (!DateOnly.TryParseExact(partition.AsSpan("log_events_".Length), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) || day >= oldestKept)
                continue;
            await using var drop = new NpgsqlCommand($"DROP TABLE \"{partition}\"", connection, transaction);
            await drop.ExecuteNonQueryAsync(cancellationToken);
            dropped.Add(partition);
        }
        await transaction.CommitAsync(cancellationToken);
        if (dropped.Count > 0)
            logger.LogInformation("Retention dropped {PartitionCount} day partitions of log events older than {OldestKeptDay}", dropped.Count, oldestKept);
        return new RetentionPass(true, dropped);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Interval == Timeout.InfiniteTimeSpan)
            return;
        using var timer = new PeriodicTimer(options.Interval, clock);
        try
        {
            do
            {
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception e) when ((e is NpgsqlException or InvalidOperationException or TimeoutException) && !stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(e, "Log event retention failed; it is tried again in {RetentionInterval}", options.Interval);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The server is stopping: not a failure of retention.
        }
        catch (ObjectDisposedException)
        {
            // A start that failed (a port in use) disposes the database before the host stops its services.
        }
    }
}

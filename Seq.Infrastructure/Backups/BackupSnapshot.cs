using System.Data;
using Npgsql;

namespace Seq.Infrastructure.Backups;

/// <summary>
/// Writes every stream and every event from one repeatable-read, read-only transaction: one consistent snapshot, taken
/// while the server goes on writing. Streams are taken whatever their type, so an aggregate added later is backed up
/// without change here; sessions and the login throttle are tables, not streams, and are left out.
/// </summary>
public static class BackupSnapshot
{
    public static async Task<(long Streams, long Events)> WriteAsync(NpgsqlDataSource dataSource, Stream content, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        await using (var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection, transaction))
            await readOnly.ExecuteNonQueryAsync(cancellationToken);

        using var writer = new BackupContentWriter(content);
        await using (var streams = new NpgsqlCommand(
            "SELECT stream_id, type, version, created, updated, is_archived FROM streams ORDER BY stream_id", connection, transaction))
        await using (var reader = await streams.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                writer.Write(new BackupStreamRecord(reader.GetString(0), reader.GetString(1), reader.GetInt64(2),
                    reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5)));
        }

        await using (var events = new NpgsqlCommand(
            "SELECT stream_id, version, event_id, type, data::text, metadata::text, created FROM events ORDER BY tx, seq", connection, transaction))
        await using (var reader = await events.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                writer.Write(new BackupEventRecord(reader.GetString(0), reader.GetInt64(1), reader.GetGuid(2), reader.GetString(3),
                    reader.GetString(4), reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6)));
        }

        writer.Complete();
        await transaction.CommitAsync(cancellationToken);
        return (writer.Streams, writer.Events);
    }
}

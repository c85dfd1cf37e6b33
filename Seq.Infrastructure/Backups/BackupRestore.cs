using System.IO.Compression;
using Npgsql;
using NpgsqlTypes;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Backups;

/// <summary>What a restore put back.</summary>
public sealed record RestoreResult(string BackupFile, DateTimeOffset BackupCreatedAt, long Streams, long Events);

/// <summary>
/// Puts a backup's streams and events back into a database, all or nothing: everything (the events, the rebuilt read
/// models, the key record, the note for the audit log) is replaced in one transaction, which commits only once the
/// file has been read and authenticated to its final chunk; a damaged, truncated or foreign file rolls it back. Restored events are appended in their original order by that one
/// transaction, so they get this cluster's transaction id and stay visible to feed readers (ADR 0027). Sessions and
/// login throttling are cleared: they are not backed up, and a session must not outlive the state it was opened on.
/// </summary>
public static class BackupRestore
{
    /// <summary>Reads the whole file, authenticating every chunk and checking the content, and changes nothing.</summary>
    /// <exception cref="BackupFileException">The file is not a backup this key can restore.</exception>
    public static (BackupHeader Header, long Streams, long Events) Verify(string path, SecretKey key)
    {
        using var file = OpenFile(path);
        using var decrypting = new BackupDecryptingStream(file, key, Path.GetFileName(path));
        using var decompressing = new BrotliStream(decrypting, CompressionMode.Decompress);
        using var content = new BackupContentReader(decompressing, Path.GetFileName(path));
        try
        {
            while (content.Read() is not null)
            {
            }
        }
        catch (InvalidDataException)
        {
            throw new BackupFileException($"{Path.GetFileName(path)} cannot be restored: its content does not decompress.");
        }
        decrypting.VerifyToEnd();
        return (decrypting.Header, content.Streams, content.Events);
    }

    /// <summary>Replaces the database's metadata with the backup's. The schema must be current.</summary>
    /// <exception cref="BackupFileException">The file is not a backup this key can restore; nothing changed.</exception>
    /// <exception cref="SecretKeyException">The database was initialized with another secret key; nothing changed.</exception>
    public static async Task<RestoreResult> ApplyAsync(
        NpgsqlDataSource dataSource, ProjectionRebuild rebuild, string path, SecretKey key, string kind, TimeProvider clock, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(path);
        // The header and the key it names are checked first, so that a backup of another instance is named as such.
        using (var file = OpenFile(path))
        using (new BackupDecryptingStream(file, key, name))
        {
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await EnsureSameKeyAsync(connection, transaction, key, cancellationToken);
        await ExecuteAsync(connection, transaction, "TRUNCATE events, streams", cancellationToken);
        await ExecuteAsync(connection, transaction, "DELETE FROM user_sessions", cancellationToken);
        await ExecuteAsync(connection, transaction, "DELETE FROM login_throttle", cancellationToken);

        long streams = 0, events = 0;
        BackupHeader header;
        using (var file = OpenFile(path))
        using (var decrypting = new BackupDecryptingStream(file, key, name))
        using (var decompressing = new BrotliStream(decrypting, CompressionMode.Decompress))
        using (var content = new BackupContentReader(decompressing, name))
        {
            header = decrypting.Header;
            var record = ReadRecord(content, name);
            await using (var import = await connection.BeginBinaryImportAsync(
                "COPY streams (stream_id, type, version, created, updated, is_archived) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                for (; record is BackupStreamRecord stream; record = ReadRecord(content, name))
                {
                    await import.StartRowAsync(cancellationToken);
                    await import.WriteAsync(stream.Id, NpgsqlDbType.Text, cancellationToken);
                    await import.WriteAsync(stream.Type, NpgsqlDbType.Text, cancellationToken);
                    await import.WriteAsync(stream.Version, NpgsqlDbType.Bigint, cancellationToken);
                    await import.WriteAsync(stream.Created, NpgsqlDbType.TimestampTz, cancellationToken);
                    await import.WriteAsync(stream.Updated, NpgsqlDbType.TimestampTz, cancellationToken);
                    await import.WriteAsync(stream.IsArchived, NpgsqlDbType.Boolean, cancellationToken);
                    streams++;
                }
                await import.CompleteAsync(cancellationToken);
            }

            // One COPY, one transaction: the events get new sequence numbers in the order they had (ADR 0027).
            await using (var import = await connection.BeginBinaryImportAsync(
                "COPY events (stream_id, version, event_id, type, data, metadata, created) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                for (; record is BackupEventRecord @event; record = ReadRecord(content, name))
                {
                    await import.StartRowAsync(cancellationToken);
                    await import.WriteAsync(@event.StreamId, NpgsqlDbType.Text, cancellationToken);
                    await import.WriteAsync(@event.Version, NpgsqlDbType.Bigint, cancellationToken);
                    await import.WriteAsync(@event.EventId, NpgsqlDbType.Uuid, cancellationToken);
                    await import.WriteAsync(@event.Type, NpgsqlDbType.Text, cancellationToken);
                    await import.WriteAsync(@event.Data, NpgsqlDbType.Jsonb, cancellationToken);
                    await import.WriteAsync(@event.Metadata, NpgsqlDbType.Jsonb, cancellationToken);
                    await import.WriteAsync(@event.Created, NpgsqlDbType.TimestampTz, cancellationToken);
                    events++;
                }
                await import.CompleteAsync(cancellationToken);
            }
            if (record is not null)
                throw new BackupFileException($"{name} cannot be restored: its content is out of order.");
            decrypting.VerifyToEnd();
        }

        // A backup made before schema step 12 holds streams under their older ids; they get today's (ADR 0047).
        await ExecuteAsync(connection, transaction, "SELECT seq_current_stream_ids()", cancellationToken);
        await rebuild.RunAsync(connection, transaction, cancellationToken);

        await using (var recordKey = new NpgsqlCommand("""
            INSERT INTO instance_secret_key (key_id, check_value) VALUES ($1, $2)
            ON CONFLICT (singleton) DO UPDATE SET key_id = excluded.key_id, check_value = excluded.check_value
            """, connection, transaction))
        {
            recordKey.Parameters.Add(new NpgsqlParameter { Value = key.KeyId });
            recordKey.Parameters.Add(new NpgsqlParameter { Value = key.CheckValue });
            await recordKey.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var note = new NpgsqlCommand("""
            INSERT INTO restore_records (id, kind, backup_file, backup_created, key_id, streams, events, restored)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """, connection, transaction))
        {
            foreach (var value in new object[] { Guid.CreateVersion7(), kind, name, header.CreatedAt, key.KeyId, streams, events, clock.GetUtcNow() })
                note.Parameters.Add(new NpgsqlParameter { Value = value });
            await note.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new RestoreResult(name, header.CreatedAt, streams, events);
    }

    // Every chunk is authenticated before its content is used, and the last before the commit, so a damaged file
    // fails the restore inside its transaction, which then changes nothing.
    static BackupRecord? ReadRecord(BackupContentReader content, string name)
    {
        try
        {
            return content.Read();
        }
        catch (InvalidDataException)
        {
            throw new BackupFileException($"{name} cannot be restored: its content does not decompress.");
        }
    }

    static async Task EnsureSameKeyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SecretKey key, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand("SELECT key_id, check_value FROM instance_secret_key", connection, transaction);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken) && (reader.GetString(0) != key.KeyId || reader.GetString(1) != key.CheckValue))
            throw new SecretKeyException(
                $"The database was initialized with secret key {reader.GetString(0)}, and the backup needs secret key {key.KeyId}: restore a backup " +
                "into a fresh storage root, or one of this instance's own backups with --from-latest.");
    }

    static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    static FileStream OpenFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BackupFileException($"The backup {path} cannot be read: {e.Message}");
        }
    }
}

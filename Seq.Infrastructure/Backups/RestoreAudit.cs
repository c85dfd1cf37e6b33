using Microsoft.Extensions.Logging;
using Npgsql;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;

namespace Seq.Infrastructure.Backups;

/// <summary>
/// A restore runs while no server does, so it leaves a row for the next start, which records it as
/// <c>Backup/Restore</c> (one Record) before serving, and then deletes the row.
/// </summary>
public static class RestoreAudit
{
    /// <summary>The command line that ran the restore, as the audit event's principal.</summary>
    public static readonly Principal CommandLine = new(PrincipalType.Public, "seqsvr restore", "principal-command-line", null, new HashSet<Seq.Domain.Security.Permission>());

    public static async Task RecordPendingAsync(NpgsqlDataSource dataSource, AuditLog audit, ILogger logger, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var pending = new List<(Guid Id, string Kind, string File, DateTimeOffset Created, string KeyId, long Streams, long Events, DateTimeOffset Restored)>();
        await using (var read = new NpgsqlCommand(
            "SELECT id, kind, backup_file, backup_created, key_id, streams, events, restored FROM restore_records ORDER BY restored", connection))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                pending.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetString(4),
                    reader.GetInt64(5), reader.GetInt64(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }

        foreach (var restore in pending)
        {
            await audit.WriteAsync(new AuditEntry("Backup", "Restore", AuditEventKind.Record, restore.Id,
                "Restored backup {BackupFile} ({RestoreKind}) at {RestoredAt}",
                [
                    new("BackupFile", restore.File),
                    new("RestoreKind", restore.Kind),
                    new("RestoredAt", restore.Restored.ToString("O")),
                    new("BackupCreatedAt", restore.Created.ToString("O")),
                    new("KeyId", restore.KeyId),
                    new("StreamCount", restore.Streams),
                    new("EventCount", restore.Events),
                ]), CommandLine, null, cancellationToken);
            logger.LogInformation("Restored from backup {BackupFile} ({RestoreKind}) at {RestoredAt}: {StreamCount} streams, {EventCount} events",
                restore.File, restore.Kind, restore.Restored, restore.Streams, restore.Events);

            await using var delete = new NpgsqlCommand("DELETE FROM restore_records WHERE id = $1", connection);
            delete.Parameters.Add(new NpgsqlParameter { Value = restore.Id });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}

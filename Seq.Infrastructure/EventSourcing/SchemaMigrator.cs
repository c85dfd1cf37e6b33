using Microsoft.Extensions.Logging;
using Npgsql;

namespace Seq.Infrastructure.EventSourcing;

public sealed class SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger)
{
    // Any fixed number works as long as nothing else in the database uses it for another purpose.
    internal const long MigrationLockId = 0x5E9_5C4E_4D41;

    /// <summary>The newest schema step this binary knows.</summary>
    public static int KnownVersion { get; } = SchemaMigrations.All.Max(step => step.Version);

    /// <exception cref="SchemaNewerThanBinaryException">Another node with a newer binary has migrated the schema past this one.</exception>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);

        // Even CREATE TABLE IF NOT EXISTS races with itself across sessions, so it runs under the lock too.
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            // Several nodes starting at once: one migrates, the others say why they wait, then find nothing to do.
            if (!await AdvisoryLocks.TryTakeAsync(connection, transaction, MigrationLockId, cancellationToken))
            {
                logger.LogInformation("Waiting for another node to finish migrating the database schema (advisory lock {LockId})", MigrationLockId);
                await AdvisoryLocks.TakeAsync(connection, transaction, MigrationLockId, cancellationToken);
            }
            await using var create = new NpgsqlCommand("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer     PRIMARY KEY,
                    name    text        NOT NULL,
                    applied timestamptz NOT NULL DEFAULT now()
                )
                """, connection, transaction);
            await create.ExecuteNonQueryAsync(cancellationToken);

            // An older binary would read and write tables whose meaning it does not know: it refuses to serve.
            await using var newest = new NpgsqlCommand("SELECT max(version) FROM schema_migrations", connection, transaction);
            if (await newest.ExecuteScalarAsync(cancellationToken) is int applied && applied > KnownVersion)
                throw new SchemaNewerThanBinaryException(
                    $"The database schema is at version {applied}, newer than this seqsvr knows (version {KnownVersion}): another node runs a newer release; upgrade this node to it before starting it.");
            await transaction.CommitAsync(cancellationToken);
        }

        foreach (var step in SchemaMigrations.All)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await AdvisoryLocks.TakeAsync(connection, transaction, MigrationLockId, cancellationToken);

            await using (var check = new NpgsqlCommand("SELECT 1 FROM schema_migrations WHERE version = $1", connection, transaction))
            {
                check.Parameters.Add(new NpgsqlParameter { Value = step.Version });
                if (await check.ExecuteScalarAsync(cancellationToken) is not null)
                    continue;
            }

            await using (var apply = new NpgsqlCommand(step.Sql, connection, transaction))
                await apply.ExecuteNonQueryAsync(cancellationToken);

            await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", connection, transaction))
            {
                record.Parameters.Add(new NpgsqlParameter { Value = step.Version });
                record.Parameters.Add(new NpgsqlParameter { Value = step.Name });
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            logger.LogInformation("Applied schema step {SchemaVersion} ({SchemaStep})", step.Version, step.Name);
        }
    }
}

public sealed class SchemaNewerThanBinaryException(string message) : Exception(message);

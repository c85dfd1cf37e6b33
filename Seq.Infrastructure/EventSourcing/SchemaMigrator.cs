using Microsoft.Extensions.Logging;
using Npgsql;

namespace Seq.Infrastructure.EventSourcing;

public sealed class SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger)
{
    // Any fixed number works as long as nothing else in the database uses it for another purpose.
    const long MigrationLockId = 0x5E9_5C4E_4D41;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);

        // Even CREATE TABLE IF NOT EXISTS races with itself across sessions, so it runs under the lock too.
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await LockAsync(connection, transaction, cancellationToken);
            await using var create = new NpgsqlCommand("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer     PRIMARY KEY,
                    name    text        NOT NULL,
                    applied timestamptz NOT NULL DEFAULT now()
                )
                """, connection, transaction);
            await create.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        foreach (var step in SchemaMigrations.All)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await LockAsync(connection, transaction, cancellationToken);

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

    static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = MigrationLockId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

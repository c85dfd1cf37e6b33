using Npgsql;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// Transaction-level PostgreSQL advisory locks, for work that nodes sharing one database must do one at a time. The
/// lock lives on the connection that runs the work, so it ends with that transaction or that connection, whichever
/// comes first: a node that dies mid-work cannot leave it held.
/// </summary>
internal static class AdvisoryLocks
{
    public static async Task<bool> TryTakeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long lockId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock($1)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = lockId });
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    public static async Task TakeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long lockId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = lockId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

using Npgsql;
using NpgsqlTypes;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// Rebuilds every inline projection's read model from the events, in global feed order, with the same projection code
/// that appends run (ADR 0043): each projection's tables are emptied, every event is passed through it, its row
/// operations are applied to rows in memory and the outcome is written with one COPY per table at the end; statements
/// of a projection's own run in feed order, a page at a time. A restore runs it inside its own transaction; the
/// server can run it on its own through <see cref="RunAsync(CancellationToken)"/>, the one entry point for that.
/// </summary>
public sealed class ProjectionRebuild(NpgsqlDataSource dataSource, EventSerializer serializer, IEnumerable<IInlineProjection> projections)
{
    const int PageSize = 2_000;
    readonly IInlineProjection[] _projections = [.. projections];

    /// <summary>The advisory lock under which nodes sharing a database rebuild one at a time (any number nothing else uses).</summary>
    public const long LockId = 0x5E9_4EB1_D001;

    /// <summary>
    /// In a transaction of its own that holds appends off (a share lock on streams) until it commits, under
    /// <see cref="LockId"/> so that one node at a time rebuilds.
    /// </summary>
    public async Task<long> RunAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Two nodes asked at once would each empty the tables and replay into them; the second waits for the first
        // to commit, then rebuilds again from the same events. (A restore needs no such lock: its TRUNCATE already
        // excludes this rebuild and other restores.)
        await AdvisoryLocks.TakeAsync(connection, transaction, LockId, cancellationToken);
        await using (var @lock = new NpgsqlCommand("LOCK TABLE streams IN SHARE MODE", connection, transaction))
            await @lock.ExecuteNonQueryAsync(cancellationToken);
        var replayed = await RunAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return replayed;
    }

    /// <summary>Within the caller's transaction; returns how many events were replayed.</summary>
    /// <exception cref="InvalidOperationException">
    /// A projection does not declare its tables or writes rows of a table it does not declare, or an event's type is unknown to this server.
    /// </exception>
    public async Task<long> RunAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var undeclared = _projections.Where(p => p.Tables is null).Select(p => p.GetType().Name).ToList();
        if (undeclared.Count > 0)
            throw new InvalidOperationException($"These projections do not declare the tables they keep, so they cannot be rebuilt: {string.Join(", ", undeclared)}.");
        var declared = _projections.SelectMany(p => p.Tables!).ToHashSet(StringComparer.Ordinal);

        foreach (var table in declared)
        {
            await using var empty = new NpgsqlCommand($"DELETE FROM \"{table}\"", connection, transaction);
            await empty.ExecuteNonQueryAsync(cancellationToken);
        }

        var rows = new ReadModelRows();
        var notified = new HashSet<string>(StringComparer.Ordinal);
        var after = FeedPosition.Start;
        long replayed = 0;
        var page = new List<PendingEvent>(PageSize);
        while (true)
        {
            page.Clear();
            await using (var read = new NpgsqlCommand("""
                SELECT tx, seq, stream_id, version, event_id, type, data::text, metadata::text, created
                FROM events WHERE (tx, seq) > ($1, $2) ORDER BY tx, seq LIMIT $3
                """, connection, transaction))
            {
                read.Parameters.Add(new NpgsqlParameter { Value = after.Transaction, NpgsqlDbType = NpgsqlDbType.Xid8 });
                read.Parameters.Add(new NpgsqlParameter { Value = after.Sequence, NpgsqlDbType = NpgsqlDbType.Bigint });
                read.Parameters.Add(new NpgsqlParameter { Value = PageSize, NpgsqlDbType = NpgsqlDbType.Integer });
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    after = new FeedPosition(reader.GetFieldValue<ulong>(0), reader.GetInt64(1));
                    page.Add(new PendingEvent(reader.GetString(2), reader.GetInt64(3), reader.GetGuid(4),
                        serializer.Deserialize(reader.GetString(5), reader.GetString(6)), serializer.DeserializeMetadata(reader.GetString(7)),
                        reader.GetFieldValue<DateTimeOffset>(8)));
                }
            }
            if (page.Count == 0)
                break;

            await using var batch = new NpgsqlBatch(connection, transaction);
            var commands = new ProjectionCommands(batch, rows);
            foreach (var pending in page)
            {
                foreach (var projection in _projections)
                {
                    if (projection.Handles(pending.Data.GetType()))
                        projection.Project(pending, commands);
                }
            }
            if (batch.BatchCommands.Count > 0)
                await batch.ExecuteNonQueryAsync(cancellationToken);
            notified.UnionWith(commands.Notified);
            replayed += page.Count;
        }

        var stray = rows.Tables.Where(t => !declared.Contains(t.Name)).Select(t => t.Name).ToList();
        if (stray.Count > 0)
            throw new InvalidOperationException($"Projections write rows of tables they do not declare, which a rebuild would not empty first: {string.Join(", ", stray)}.");
        await rows.CopyAsync(connection, cancellationToken);

        foreach (var channel in notified)
        {
            await using var notify = new NpgsqlCommand("SELECT pg_notify($1, '')", connection, transaction);
            notify.Parameters.Add(new NpgsqlParameter { Value = channel });
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }
        return replayed;
    }
}

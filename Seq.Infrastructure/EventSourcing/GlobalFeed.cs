using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// Every committed event in a stable order. Reads stay below the oldest transaction still running
/// (<c>pg_snapshot_xmin</c>), so an event whose transaction commits late is never skipped: it simply becomes
/// readable once every older transaction has finished. Rolled-back events are never seen.
/// </summary>
public sealed class GlobalFeed(NpgsqlDataSource dataSource, EventSerializer serializer)
{
    public const int DefaultPageSize = 2000;

    public async Task<IReadOnlyList<RecordedEvent>> ReadPageAsync(FeedPosition after, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);

        await using var command = dataSource.CreateCommand("""
            SELECT tx, seq, stream_id, version, event_id, type, data::text, metadata::text, created
            FROM events
            WHERE (tx, seq) > ($1, $2) AND tx < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY tx, seq
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = after.Transaction, NpgsqlDbType = NpgsqlDbType.Xid8 });
        command.Parameters.Add(new NpgsqlParameter { Value = after.Sequence, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = maxCount, NpgsqlDbType = NpgsqlDbType.Integer });

        var page = new List<RecordedEvent>(Math.Min(maxCount, 4096));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var type = reader.GetString(5);
            page.Add(new RecordedEvent(
                new FeedPosition(reader.GetFieldValue<ulong>(0), reader.GetInt64(1)),
                reader.GetString(2),
                reader.GetInt64(3),
                reader.GetGuid(4),
                type,
                serializer.Deserialize(type, reader.GetString(6)),
                serializer.DeserializeMetadata(reader.GetString(7)),
                reader.GetFieldValue<DateTimeOffset>(8)));
        }
        return page;
    }

    /// <summary>Reads everything readable after <paramref name="after"/>, page by page, and stops when caught up.</summary>
    public async IAsyncEnumerable<RecordedEvent> ReadAllAsync(FeedPosition after, [EnumeratorCancellation] CancellationToken cancellationToken, int pageSize = DefaultPageSize)
    {
        while (true)
        {
            var page = await ReadPageAsync(after, pageSize, cancellationToken);
            foreach (var recorded in page)
                yield return recorded;

            if (page.Count < pageSize)
                yield break;
            after = page[^1].Position;
        }
    }
}

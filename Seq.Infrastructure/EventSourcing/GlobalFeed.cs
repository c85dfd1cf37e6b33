using System.Buffers;
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
    public const int DefaultPageSize = 5000;
    const byte JsonbFormatVersion = 1;

    public async Task<IReadOnlyList<RecordedEvent>> ReadPageAsync(FeedPosition after, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);

        await using var command = dataSource.CreateCommand("""
            SELECT tx, seq, stream_id, version, event_id, type, data, metadata, created
            FROM events
            WHERE (tx, seq) > ($1, $2) AND tx < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY tx, seq
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = after.Transaction, NpgsqlDbType = NpgsqlDbType.Xid8 });
        command.Parameters.Add(new NpgsqlParameter { Value = after.Sequence, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = maxCount, NpgsqlDbType = NpgsqlDbType.Integer });

        var page = new List<RecordedEvent>(Math.Min(maxCount, 4096));
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        var metadataBytes = Array.Empty<byte>();
        var metadata = EventMetadata.None;
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var type = reader.GetString(5);
                var data = serializer.Deserialize(type, ReadJsonb(reader, 6, ref buffer));

                // The events of one append share their metadata, and they are adjacent in the feed.
                var metadataJson = ReadJsonb(reader, 7, ref buffer);
                if (!metadataJson.SequenceEqual(metadataBytes))
                {
                    metadataBytes = metadataJson.ToArray();
                    metadata = serializer.DeserializeMetadata(metadataJson);
                }

                page.Add(new RecordedEvent(
                    new FeedPosition(reader.GetFieldValue<ulong>(0), reader.GetInt64(1)),
                    reader.GetString(2),
                    reader.GetInt64(3),
                    reader.GetGuid(4),
                    type,
                    data,
                    metadata,
                    reader.GetFieldValue<DateTimeOffset>(8)));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return page;
    }

    /// <summary>
    /// A <c>jsonb</c> column's UTF-8 JSON text, taken from its binary wire form (a format version byte, then the
    /// text) so that System.Text.Json reads it directly: no server-side cast and no detour through a UTF-16 string.
    /// </summary>
    static ReadOnlySpan<byte> ReadJsonb(NpgsqlDataReader reader, int ordinal, ref byte[] buffer)
    {
        using var stream = reader.GetStream(ordinal);
        var length = checked((int)stream.Length);
        if (buffer.Length < length)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = ArrayPool<byte>.Shared.Rent(length);
        }
        stream.ReadExactly(buffer, 0, length);
        if (length == 0 || buffer[0] != JsonbFormatVersion)
            throw new InvalidOperationException($"The server sent jsonb in an unknown binary format (version {(length == 0 ? -1 : buffer[0])}).");
        return buffer.AsSpan(1, length - 1);
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

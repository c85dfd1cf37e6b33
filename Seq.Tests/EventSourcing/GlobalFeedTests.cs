using System.Collections.Concurrent;
using Seq.Infrastructure.EventSourcing;
using Seq.Tests.Support;

namespace Seq.Tests.EventSourcing;

public sealed class GlobalFeedTests : IAsyncLifetime
{
    TestEventStore _db = null!;

    public async Task InitializeAsync() => _db = await TestEventStore.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task A_reader_beside_twenty_writers_sees_every_committed_event_once_in_order_and_nothing_rolled_back()
    {
        const int writers = 20;
        const int transactionsPerWriter = 25;
        var committed = new ConcurrentDictionary<Guid, byte>();
        var rolledBack = new ConcurrentDictionary<Guid, byte>();
        var writersDone = 0;

        async Task WriteAsync(int writer)
        {
            var random = new Random(writer);
            var stream = $"feed-{writer}-{Guid.NewGuid():N}";
            var version = 0L;
            for (var i = 0; i < transactionsPerWriter; i++)
            {
                await using var connection = await _db.DataSource.OpenConnectionAsync();
                await using var transaction = await connection.BeginTransactionAsync();
                var count = random.Next(1, 4);
                var events = Enumerable.Range(0, count).Select(_ => new CounterIncremented(stream, 1)).ToArray();
                await _db.Store.AppendAsync(connection, transaction, stream, "Counter", version, events, default);
                var ids = await EventIdsAsync(connection, transaction, stream, version);

                var fate = random.Next(10);
                if (fate < 2)
                {
                    await transaction.RollbackAsync();
                    foreach (var id in ids) rolledBack[id] = 0;
                    continue;
                }
                if (fate < 6)
                    await Task.Delay(random.Next(1, 15));

                await transaction.CommitAsync();
                version += count;
                foreach (var id in ids) committed[id] = 0;
            }
        }

        async Task<List<RecordedEvent>> ReadAsync()
        {
            var seen = new List<RecordedEvent>();
            var position = FeedPosition.Start;
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline)
            {
                var finished = Volatile.Read(ref writersDone) == writers;
                var page = await _db.Feed.ReadPageAsync(position, 37, default);
                seen.AddRange(page);
                if (page.Count > 0)
                    position = page[^1].Position;
                // Transaction ids are cluster-wide: an open write transaction in another test's database holds
                // this feed back too, so an empty page only means "nothing readable yet".
                else if (finished && seen.Count(e => e.StreamId.StartsWith("feed-", StringComparison.Ordinal)) >= committed.Count)
                    return seen;
                else
                    await Task.Delay(2);
            }
            return seen;
        }

        var reader = Task.Run(ReadAsync);
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            try { await WriteAsync(w); }
            finally { Interlocked.Increment(ref writersDone); }
        })));
        var seen = await reader;

        rolledBack.ShouldNotBeEmpty();
        var ours = seen.Where(e => e.StreamId.StartsWith("feed-", StringComparison.Ordinal)).ToList();
        ours.Select(e => e.EventId).ShouldBeUnique();
        ours.Select(e => e.EventId).ToHashSet().SetEquals(committed.Keys).ShouldBeTrue(
            $"the reader saw {ours.Count} events; {committed.Count} were committed");
        ours.ShouldAllBe(e => !rolledBack.ContainsKey(e.EventId));
        for (var i = 1; i < seen.Count; i++)
            Compare(seen[i - 1].Position, seen[i].Position).ShouldBeLessThan(0);
        ours.ShouldAllBe(e => e.Data is CounterIncremented);
    }

    [Fact]
    public async Task Catching_up_reads_every_page_until_the_end_of_the_feed()
    {
        var stream = "catchup-" + Guid.NewGuid().ToString("N");
        for (var version = 0; version < 50; version += 5)
            await _db.Store.AppendAsync(stream, "Counter", version, Enumerable.Range(0, 5).Select(i => new CounterIncremented(stream, i)).ToArray(), default);

        // Transaction ids are cluster-wide, so a write transaction still open in another test's database holds
        // the feed back until it ends; poll until ours are readable.
        var read = new List<RecordedEvent>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (read.Count(e => e.StreamId == stream) < 50 && DateTime.UtcNow < deadline)
        {
            read.Clear();
            await foreach (var e in _db.Feed.ReadAllAsync(FeedPosition.Start, default, pageSize: 7))
                read.Add(e);
        }

        read.Where(e => e.StreamId == stream).Select(e => e.Version).ShouldBe(Enumerable.Range(1, 50).Select(v => (long)v));
    }

    [Fact]
    public async Task A_page_of_fewer_than_one_event_is_refused()
    {
        await Should.ThrowAsync<ArgumentOutOfRangeException>(() => _db.Feed.ReadPageAsync(FeedPosition.Start, 0, default));
    }

    [Fact]
    public async Task Events_larger_than_the_read_buffer_and_adjacent_events_of_different_operations_are_read_whole_with_their_own_metadata()
    {
        var stream = "large-" + Guid.NewGuid().ToString("N");
        var large = new string('x', 20_000);
        _db.Operation.CorrelationId = "first-operation";
        await _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream + large, 1), new CounterIncremented(stream, 2)], default);
        _db.Operation.CorrelationId = "second-operation";
        await _db.Store.AppendAsync(stream, "Counter", 2, [new CounterIncremented(stream, 3)], default);
        _db.Operation.CorrelationId = "third-operation";
        await _db.Store.AppendAsync(stream, "Counter", 3, [new CounterIncremented(stream + large + large, 4)], default);

        var read = new List<RecordedEvent>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (read.Count < 4 && DateTime.UtcNow < deadline)
            read = [.. (await _db.Feed.ReadPageAsync(FeedPosition.Start, 10, default)).Where(e => e.StreamId == stream)];

        read.Select(e => ((CounterIncremented)e.Data).Amount).ShouldBe([1, 2, 3, 4]);
        ((CounterIncremented)read[0].Data).CounterId.ShouldBe(stream + large);
        ((CounterIncremented)read[3].Data).CounterId.ShouldBe(stream + large + large);
        read.Select(e => e.Metadata.CorrelationId).ShouldBe(["first-operation", "first-operation", "second-operation", "third-operation"]);
        read.Select(e => e.Version).ShouldBe([1L, 2L, 3L, 4L]);
        read.ShouldAllBe(e => e.Type == nameof(CounterIncremented));
        foreach (var e in read)
            (await _db.ScalarAsync<Guid>("SELECT event_id FROM events WHERE stream_id = $1 AND version = $2", stream, e.Version)).ShouldBe(e.EventId);
        (await _db.ScalarAsync<DateTime>("SELECT created FROM events WHERE stream_id = $1 AND version = 4", stream)).ShouldBe(read[3].Created.UtcDateTime);

        var after = await _db.Feed.ReadPageAsync(read[1].Position, 10, default);
        after.Where(e => e.StreamId == stream).Select(e => e.Version).ShouldBe([3L, 4L]);
    }

    static int Compare(FeedPosition a, FeedPosition b) =>
        a.Transaction != b.Transaction ? a.Transaction.CompareTo(b.Transaction) : a.Sequence.CompareTo(b.Sequence);

    static async Task<List<Guid>> EventIdsAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction, string stream, long afterVersion)
    {
        await using var command = new Npgsql.NpgsqlCommand("SELECT event_id FROM events WHERE stream_id = $1 AND version > $2", connection, transaction);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = stream });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = afterVersion });
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            ids.Add(reader.GetGuid(0));
        return ids;
    }
}

using Npgsql;
using Seq.Infrastructure;
using Seq.Infrastructure.EventSourcing;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Domain;
using Seq.Tests.Support;

namespace Seq.Tests.EventSourcing;

public sealed class EventStoreTests : IAsyncLifetime
{
    TestEventStore _db = null!;

    public async Task InitializeAsync() => _db = await TestEventStore.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    static string NewStream() => "counter-" + Guid.NewGuid().ToString("N");

    Task<long> LastSequenceValueAsync() =>
        _db.ScalarAsync<long>("SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')), 0)")!;

    [Fact]
    public async Task Appends_are_prepared_and_an_event_PostgreSQL_refuses_leaves_the_pooled_connection_usable_whichever_append_it_came_with()
    {
        // The data source prepares nothing by itself (ADR 0014), so the appends prepare their own statements, and a
        // refused append must not spoil them. One connection, so every append runs where the refused one did; the
        // refusal comes at each of the first appends, the first being the one that prepares the statements.
        var connectionString = new NpgsqlConnectionStringBuilder(_db.ConnectionString) { MaxPoolSize = 1 }.ConnectionString;
        for (var refusedAt = 1; refusedAt <= 6; refusedAt++)
        {
            await using var dataSource = DependencyInjection.CreateDataSource(connectionString);
            var store = new PostgresEventStore(dataSource, _db.Serializer, [new CounterTotalsProjection()], new OperationContext(), TimeProvider.System, []);
            var stream = NewStream();
            var version = 0L;
            for (var append = 1; append <= refusedAt + 6; append++)
            {
                if (append == refusedAt)
                {
                    // A NUL is refused when PostgreSQL converts the parameters (Bind): 22P05 in jsonb, 22021 in text.
                    var refused = await Should.ThrowAsync<PostgresException>(() =>
                        store.AppendAsync(stream, "Counter", version, [new CounterIncremented("a\0b", 1)], default));
                    refused.SqlState.ShouldBeOneOf(PostgresErrorCodes.UntranslatableCharacter, PostgresErrorCodes.CharacterNotInRepertoire);
                    continue;
                }
                version = await store.AppendAsync(stream, "Counter", version, [new CounterIncremented(stream, 1)], default);
            }
            version.ShouldBe(refusedAt + 5);

            await using var connection = await dataSource.OpenConnectionAsync();
            await using var prepared = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements", connection);
            ((long)(await prepared.ExecuteScalarAsync())!).ShouldBeGreaterThan(0, "the appends' statements are prepared on the connection");
        }
    }

    [Fact]
    public async Task Sixteen_concurrent_appends_with_the_same_expected_version_let_exactly_one_win_and_burn_no_sequence_value()
    {
        var stream = NewStream();
        await _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 1)], default);
        var sequenceBefore = await LastSequenceValueAsync();

        using var start = new Barrier(16);
        var attempts = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            start.SignalAndWait();
            try
            {
                await _db.Store.AppendAsync(stream, "Counter", 1, [new CounterIncremented(stream, 100 + i)], default);
                return (Exception?)null;
            }
            catch (Exception e)
            {
                return e;
            }
        })).ToArray();
        var outcomes = await Task.WhenAll(attempts);

        outcomes.Count(e => e is null).ShouldBe(1);
        outcomes.Where(e => e is not null).ShouldAllBe(e => e is ConcurrencyException);
        (await LastSequenceValueAsync()).ShouldBe(sequenceBefore + 1);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM events WHERE stream_id = $1", stream)).ShouldBe(2);
        var (counter, version) = await _db.Store.LoadAsync<Counter>(stream, default);
        version.ShouldBe(2);
        counter.Increments.ShouldBe(2);
    }

    [Fact]
    public async Task Sixteen_writers_racing_to_create_the_same_stream_leave_exactly_one_creator()
    {
        var stream = NewStream();
        var sequenceBefore = await LastSequenceValueAsync();

        using var start = new Barrier(16);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            start.SignalAndWait();
            try
            {
                await _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, i)], default);
                return (Exception?)null;
            }
            catch (Exception e)
            {
                return e;
            }
        })));

        outcomes.Count(e => e is null).ShouldBe(1);
        outcomes.Where(e => e is not null).ShouldAllBe(e => e is ConcurrencyException);
        (await LastSequenceValueAsync()).ShouldBe(sequenceBefore + 1);
    }

    [Fact]
    public async Task An_append_with_a_stale_expected_version_is_refused_and_leaves_projections_unchanged()
    {
        var stream = NewStream();
        await _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 5)], default);
        await _db.Store.AppendAsync(stream, "Counter", 1, [new CounterIncremented(stream, 7)], default);

        await Should.ThrowAsync<ConcurrencyException>(() =>
            _db.Store.AppendAsync(stream, "Counter", 1, [new CounterIncremented(stream, 1000), new CounterIncremented(stream, 1000)], default));

        (await _db.CounterTotalAsync(stream)).ShouldBe(12);
        (await _db.Store.LoadAsync<Counter>(stream, default)).Version.ShouldBe(2);
    }

    [Fact]
    public async Task An_append_with_an_expected_version_ahead_of_the_stream_is_refused_and_leaves_no_version_gap()
    {
        var stream = NewStream();
        await _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 5)], default);
        await _db.Store.AppendAsync(stream, "Counter", 1, [new CounterIncremented(stream, 7)], default);

        foreach (var ahead in new long[] { 3, 5 })
            await Should.ThrowAsync<ConcurrencyException>(() =>
                _db.Store.AppendAsync(stream, "Counter", ahead, [new CounterIncremented(stream, 1000)], default));

        (await _db.CounterTotalAsync(stream)).ShouldBe(12);
        (await _db.Store.LoadAsync<Counter>(stream, default)).Version.ShouldBe(2);
        (await _db.ScalarAsync<long>("SELECT version FROM streams WHERE stream_id = $1", stream)).ShouldBe(2);

        // The next append at the real version takes version 3: the stream's versions stay 1, 2, 3 with no hole.
        (await _db.Store.AppendAsync(stream, "Counter", 2, [new CounterIncremented(stream, 1)], default)).ShouldBe(3);
        (await _db.ScalarAsync<string>("SELECT string_agg(version::text, ',' ORDER BY version) FROM events WHERE stream_id = $1", stream)).ShouldBe("1,2,3");
        (await _db.CounterTotalAsync(stream)).ShouldBe(13);
    }

    [Fact]
    public async Task An_append_with_an_expected_version_above_zero_to_a_stream_that_does_not_exist_is_refused_and_creates_nothing()
    {
        var stream = NewStream();

        await Should.ThrowAsync<ConcurrencyException>(() =>
            _db.Store.AppendAsync(stream, "Counter", 2, [new CounterIncremented(stream, 1000)], default));

        (await _db.ScalarAsync<long>("SELECT count(*) FROM streams WHERE stream_id = $1", stream)).ShouldBe(0);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM events WHERE stream_id = $1", stream)).ShouldBe(0);
        (await _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 1)], default)).ShouldBe(1);
    }

    [Fact]
    public async Task An_append_runs_its_inline_projection_in_the_same_transaction()
    {
        var stream = NewStream();
        await _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 2), new CounterIncremented(stream, 3)], default);

        (await _db.CounterTotalAsync(stream)).ShouldBe(5);

        await using var connection = await _db.DataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await _db.Store.AppendAsync(connection, transaction, stream, "Counter", 2, [new CounterIncremented(stream, 40)], default);
            await transaction.RollbackAsync();
        }

        (await _db.CounterTotalAsync(stream)).ShouldBe(5);
        (await _db.Store.LoadAsync<Counter>(stream, default)).Version.ShouldBe(2);
    }

    [Fact]
    public async Task Loading_a_stream_that_does_not_exist_gives_a_new_aggregate_at_version_zero()
    {
        var (counter, version) = await _db.Store.LoadAsync<Counter>(NewStream(), default);

        version.ShouldBe(0);
        counter.Total.ShouldBe(0);
    }

    [Fact]
    public async Task Every_event_carries_the_metadata_of_the_operation_that_appended_it()
    {
        var stream = NewStream();
        _db.Operation.CorrelationId = "corr-" + stream;
        _db.Operation.CausationId = "cause-1";
        _db.Operation.Principal = new Principal(PrincipalType.User, "admin", "user-admin", null, new HashSet<Permission> { Permission.Public });
        _db.Operation.AuditOperationId = "b8a1c6de-77f7-4b51-a9d9-7b2f0e39bb0e";

        await _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 1)], default);

        var metadata = _db.Serializer.DeserializeMetadata(
            await _db.ScalarAsync<string>("SELECT metadata::text FROM events WHERE stream_id = $1", stream));
        metadata.CorrelationId.ShouldBe("corr-" + stream);
        metadata.CausationId.ShouldBe("cause-1");
        metadata.Principal.ShouldBe("admin");
        metadata.PrincipalId.ShouldBe("user-admin");
        metadata.AuditOperationId.ShouldBe("b8a1c6de-77f7-4b51-a9d9-7b2f0e39bb0e");
    }

    [Fact]
    public async Task An_append_to_several_streams_stores_every_part_with_its_projections_in_one_transaction()
    {
        var (fresh, existing) = (NewStream(), NewStream());
        await _db.Store.AppendAsync(existing, "Counter", 0, [new CounterIncremented(existing, 1)], default);

        await _db.Store.AppendAsync(
            [new StreamAppend(fresh, "Counter", 0, [new CounterIncremented(fresh, 2), new CounterIncremented(fresh, 3)]),
             new StreamAppend(existing, "Counter", 1, [new CounterIncremented(existing, 4)])], default);

        (await _db.Store.LoadAsync<Counter>(fresh, default)).Version.ShouldBe(2);
        (await _db.Store.LoadAsync<Counter>(existing, default)).Version.ShouldBe(2);
        (await _db.CounterTotalAsync(fresh)).ShouldBe(5);
        (await _db.CounterTotalAsync(existing)).ShouldBe(5);
        (await _db.ScalarAsync<long>("SELECT count(DISTINCT tx) FROM events WHERE stream_id IN ($1, $2) AND version > $3", fresh, existing, 0L))
            .ShouldBe(2);
        (await _db.ScalarAsync<long>("SELECT count(DISTINCT tx) FROM events WHERE stream_id = $1 OR (stream_id = $2 AND version = 2)", fresh, existing))
            .ShouldBe(1);
    }

    [Fact]
    public async Task An_append_to_several_streams_in_which_one_stream_lost_a_race_stores_nothing_and_names_that_stream()
    {
        var (fresh, existing) = (NewStream(), NewStream());
        await _db.Store.AppendAsync(existing, "Counter", 0, [new CounterIncremented(existing, 1)], default);
        await _db.Store.AppendAsync(existing, "Counter", 1, [new CounterIncremented(existing, 1)], default);

        var conflict = await Should.ThrowAsync<ConcurrencyException>(() => _db.Store.AppendAsync(
            [new StreamAppend(fresh, "Counter", 0, [new CounterIncremented(fresh, 2)]),
             new StreamAppend(existing, "Counter", 1, [new CounterIncremented(existing, 100)])], default));

        conflict.StreamId.ShouldBe(existing);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM streams WHERE stream_id = $1", fresh)).ShouldBe(0);
        (await _db.CounterTotalAsync(fresh)).ShouldBeNull();
        (await _db.CounterTotalAsync(existing)).ShouldBe(2);
        (await _db.Store.LoadAsync<Counter>(existing, default)).Version.ShouldBe(2);
    }

    [Fact]
    public async Task The_stream_named_by_a_lost_race_is_the_one_that_moved_even_when_an_unmoved_existing_stream_comes_first()
    {
        var (unmoved, moved) = (NewStream(), NewStream());
        await _db.Store.AppendAsync(unmoved, "Counter", 0, [new CounterIncremented(unmoved, 1)], default);
        await _db.Store.AppendAsync(moved, "Counter", 0, [new CounterIncremented(moved, 1)], default);
        await _db.Store.AppendAsync(moved, "Counter", 1, [new CounterIncremented(moved, 1)], default);

        var conflict = await Should.ThrowAsync<ConcurrencyException>(() => _db.Store.AppendAsync(
            [new StreamAppend(unmoved, "Counter", 1, [new CounterIncremented(unmoved, 5)]),
             new StreamAppend(moved, "Counter", 1, [new CounterIncremented(moved, 5)])], default));

        conflict.StreamId.ShouldBe(moved);
        conflict.ExpectedVersion.ShouldBe(1);
        (await _db.CounterTotalAsync(unmoved)).ShouldBe(1);
    }

    [Fact]
    public async Task An_append_within_a_callers_transaction_needs_an_event()
    {
        await using var connection = await _db.DataSource.OpenConnectionAsync();
        (await Should.ThrowAsync<ArgumentException>(() => _db.Store.AppendAsync(connection, null, NewStream(), "Counter", 0, [], default)))
            .Message.ShouldBe("An append needs at least one event. (Parameter 'events')");
    }

    [Fact]
    public async Task An_append_naming_one_stream_twice_is_refused_before_reaching_the_database()
    {
        var stream = NewStream();
        (await Should.ThrowAsync<ArgumentException>(() => _db.Store.AppendAsync(
            [new StreamAppend(stream, "Counter", 0, [new CounterIncremented(stream, 1)]), new StreamAppend(stream, "Counter", 1, [new CounterIncremented(stream, 1)])],
            default))).Message.ShouldBe("Each stream may appear only once in an append. (Parameter 'appends')");
        (await _db.ScalarAsync<long>("SELECT count(*) FROM streams WHERE stream_id = $1", stream)).ShouldBe(0);
    }

    [Fact]
    public async Task An_append_with_no_events_is_refused_before_reaching_the_database()
    {
        await Should.ThrowAsync<ArgumentException>(() => _db.Store.AppendAsync(NewStream(), "Counter", 0, Array.Empty<IDomainEvent>(), default));
    }

    [Fact]
    public async Task An_append_with_a_negative_expected_version_is_refused_before_reaching_the_database()
    {
        var stream = NewStream();
        await Should.ThrowAsync<ArgumentOutOfRangeException>(() => _db.Store.AppendAsync(stream, "Counter", -1, [new CounterIncremented(stream, 1)], default));
        await Should.ThrowAsync<ArgumentOutOfRangeException>(() => _db.Store.AppendAsync(
            [new StreamAppend(stream, "Counter", -1, [new CounterIncremented(stream, 1)])], default));
        (await _db.ScalarAsync<long>("SELECT count(*) FROM streams WHERE stream_id = $1", stream)).ShouldBe(0);
    }

    [Fact]
    public async Task An_append_to_several_streams_needs_at_least_one_stream_and_an_event_for_each()
    {
        var (first, second) = (NewStream(), NewStream());
        (await Should.ThrowAsync<ArgumentException>(() => _db.Store.AppendAsync(Array.Empty<StreamAppend>(), default)))
            .Message.ShouldBe("An append needs at least one stream. (Parameter 'appends')");
        (await Should.ThrowAsync<ArgumentException>(() => _db.Store.AppendAsync(
            [new StreamAppend(first, "Counter", 0, [new CounterIncremented(first, 1)]), new StreamAppend(second, "Counter", 0, [])], default)))
            .Message.ShouldContain($"The append to {second} has no events");
        (await _db.ScalarAsync<long>("SELECT count(*) FROM streams WHERE stream_id IN ($1, $2)", first, second)).ShouldBe(0);
    }

    [Fact]
    public async Task An_inline_projection_sees_each_event_with_its_stream_version_stored_id_metadata_and_the_stores_clock()
    {
        var at = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
        var projection = new RecordingProjection();
        var operation = new OperationContext { CorrelationId = "corr-projection" };
        var store = new PostgresEventStore(_db.DataSource, _db.Serializer, [projection], operation, new FixedClock(at), []);
        var (single, other) = (NewStream(), NewStream());
        await store.AppendAsync(single, "Counter", 0, [new CounterIncremented(single, 1)], default);

        await store.AppendAsync(single, "Counter", 1, [new CounterIncremented(single, 2), new CounterIncremented(single, 3)], default);
        await store.AppendAsync([new StreamAppend(other, "Counter", 0, [new CounterIncremented(other, 4), new CounterIncremented(other, 5)])], default);

        projection.Seen.Select(e => (e.StreamId, e.Version, ((CounterIncremented)e.Data).Amount))
            .ShouldBe([(single, 1L, 1), (single, 2L, 2), (single, 3L, 3), (other, 1L, 4), (other, 2L, 5)]);
        projection.Seen.ShouldAllBe(e => e.Timestamp == at && e.Metadata.CorrelationId == "corr-projection");
        foreach (var e in projection.Seen)
            (await _db.ScalarAsync<Guid>("SELECT event_id FROM events WHERE stream_id = $1 AND version = $2", e.StreamId, e.Version)).ShouldBe(e.EventId);
        projection.Seen.Select(e => e.EventId).ShouldBeUnique();
    }

    [Fact]
    public async Task A_unique_rule_of_an_inline_projection_refuses_the_append_as_a_uniqueness_conflict_and_stores_none_of_it()
    {
        await using (var create = _db.DataSource.CreateCommand("CREATE TABLE test_unique_amounts (amount integer PRIMARY KEY)"))
            await create.ExecuteNonQueryAsync();
        var store = new PostgresEventStore(_db.DataSource, _db.Serializer, [new UniqueAmountProjection()], new OperationContext(), TimeProvider.System, []);
        var (first, second) = (NewStream(), NewStream());
        await store.AppendAsync(first, "Counter", 0, [new CounterIncremented(first, 7)], default);

        await Should.ThrowAsync<UniquenessConflictException>(() => store.AppendAsync(second, "Counter", 0, [new CounterIncremented(second, 7)], default));
        await Should.ThrowAsync<UniquenessConflictException>(() => store.AppendAsync(first, "Counter", 1, [new CounterIncremented(first, 8), new CounterIncremented(first, 7)], default));
        await Should.ThrowAsync<UniquenessConflictException>(() => store.AppendAsync(
            [new StreamAppend(second, "Counter", 0, [new CounterIncremented(second, 9)]), new StreamAppend(first, "Counter", 1, [new CounterIncremented(first, 7)])], default));

        (await _db.ScalarAsync<long>("SELECT count(*) FROM streams WHERE stream_id = $1", second)).ShouldBe(0);
        (await store.LoadAsync<Counter>(first, default)).Version.ShouldBe(1);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM test_unique_amounts")).ShouldBe(1);
    }

    [Fact]
    public async Task Observers_are_told_of_committed_events_only_and_one_that_fails_is_logged_without_failing_the_append_or_the_next_observer()
    {
        var (failing, recording) = (new FailingObserver(), new RecordingObserver());
        var logger = new RecordingLogger<PostgresEventStore>();
        var store = new PostgresEventStore(_db.DataSource, _db.Serializer, [], new OperationContext(), TimeProvider.System, [failing, recording], logger);
        var (first, second) = (NewStream(), NewStream());

        (await store.AppendAsync(first, "Counter", 0, [new CounterIncremented(first, 1), new CounterIncremented(first, 2)], default)).ShouldBe(2);
        await store.AppendAsync([new StreamAppend(first, "Counter", 2, [new CounterIncremented(first, 3)]), new StreamAppend(second, "Counter", 0, [new CounterIncremented(second, 4)])], default);
        await Should.ThrowAsync<ConcurrencyException>(() => store.AppendAsync(first, "Counter", 1, [new CounterIncremented(first, 5)], default));
        await Should.ThrowAsync<ConcurrencyException>(() => store.AppendAsync([new StreamAppend(second, "Counter", 0, [new CounterIncremented(second, 6)])], default));

        failing.Calls.ShouldBe(2);
        recording.Batches.Select(b => b.Select(e => ((CounterIncremented)e).Amount).ToArray()).ShouldBe([[1, 2], [3, 4]]);
        logger.Entries.Count(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error).ShouldBe(2);
        logger.Text.ShouldContain($"FailingObserver failed after an append to {first} had committed; the change stands");
        logger.Text.ShouldContain($"to {first}, {second} had committed");
        (await store.LoadAsync<Counter>(first, default)).Version.ShouldBe(3);
    }

    sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    sealed class RecordingProjection : IInlineProjection
    {
        public List<PendingEvent> Seen { get; } = [];
        public bool Handles(Type eventType) => eventType == typeof(CounterIncremented);
        public void Project(PendingEvent @event, ProjectionCommands commands) => Seen.Add(@event);
    }

    sealed class UniqueAmountProjection : IInlineProjection
    {
        public bool Handles(Type eventType) => eventType == typeof(CounterIncremented);
        public void Project(PendingEvent @event, ProjectionCommands commands) =>
            commands.Add("INSERT INTO test_unique_amounts (amount) VALUES ($1)", ((CounterIncremented)@event.Data).Amount);
    }

    sealed class FailingObserver : IAppendObserver
    {
        public int Calls;
        public Task AfterCommitAsync(IReadOnlyList<IDomainEvent> events, CancellationToken cancellationToken)
        {
            Calls++;
            throw new InvalidOperationException("observer broke");
        }
    }

    sealed class RecordingObserver : IAppendObserver
    {
        public List<IReadOnlyList<IDomainEvent>> Batches { get; } = [];
        public Task AfterCommitAsync(IReadOnlyList<IDomainEvent> events, CancellationToken cancellationToken)
        {
            Batches.Add(events);
            return Task.CompletedTask;
        }
    }
}

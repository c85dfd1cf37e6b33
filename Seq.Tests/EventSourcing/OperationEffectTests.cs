using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Infrastructure.EventSourcing;
using Seq.Tests.Support;

namespace Seq.Tests.EventSourcing;

/// <summary>Makes an append's batch take a while, so that a test can act while it is in flight.</summary>
sealed class SlowAppendProjection : IInlineProjection
{
    public const string Marker = "slow_append_probe";

    public bool Handles(Type eventType) => eventType == typeof(CounterIncremented);

    public void Project(PendingEvent @event, ProjectionCommands commands) => commands.Add($"SELECT pg_sleep(1) AS {Marker}");
}

/// <summary>What the event store tells the operation about its change, which the audit pipeline relies on (ADR 0012).</summary>
public sealed class OperationEffectTests : IAsyncLifetime
{
    TestEventStore _db = null!;

    public async Task InitializeAsync() => _db = await TestEventStore.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    static string NewStream() => "counter-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task A_committed_append_marks_the_operation_committed_and_a_refused_one_leaves_it_as_it_was()
    {
        var stream = NewStream();
        _db.Operation.Effect.ShouldBe(OperationEffect.None);

        await Should.ThrowAsync<ConcurrencyException>(() => _db.Store.AppendAsync(stream, "Counter", 3, [new CounterIncremented(stream, 1)], default));
        _db.Operation.Effect.ShouldBe(OperationEffect.None);

        await _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 1)], default);
        _db.Operation.Effect.ShouldBe(OperationEffect.Committed);

        await Should.ThrowAsync<ConcurrencyException>(() => _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 1)], default));
        _db.Operation.Effect.ShouldBe(OperationEffect.Committed);
    }

    [Fact]
    public async Task An_append_to_several_streams_that_commits_marks_the_operation_committed()
    {
        var (first, second) = (NewStream(), NewStream());

        await _db.Store.AppendAsync([new StreamAppend(first, "Counter", 0, [new CounterIncremented(first, 1)]),
            new StreamAppend(second, "Counter", 0, [new CounterIncremented(second, 2)])], default);

        _db.Operation.Effect.ShouldBe(OperationEffect.Committed);
    }

    [Fact]
    public async Task An_append_within_a_callers_transaction_leaves_the_effect_to_the_callers_commit()
    {
        var stream = NewStream();
        await using var connection = await _db.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await _db.Store.AppendAsync(connection, transaction, stream, "Counter", 0, [new CounterIncremented(stream, 1)], default);

        _db.Operation.Effect.ShouldBe(OperationEffect.None);
        await transaction.RollbackAsync();
        (await _db.CounterTotalAsync(stream)).ShouldBeNull();
    }

    [Fact]
    public async Task An_append_cancelled_before_it_is_sent_changes_nothing()
    {
        var stream = NewStream();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => _db.Store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 1)], cancelled.Token));

        _db.Operation.Effect.ShouldBe(OperationEffect.None);
        (await _db.CounterTotalAsync(stream)).ShouldBeNull();
    }

    [Fact]
    public async Task An_append_whose_request_is_cancelled_while_it_runs_still_commits_and_says_so()
    {
        var operation = new OperationContext();
        var store = new PostgresEventStore(_db.DataSource, _db.Serializer, [new CounterTotalsProjection(), new SlowAppendProjection()], operation, TimeProvider.System, []);
        var stream = NewStream();
        using var request = new CancellationTokenSource();

        var appending = store.AppendAsync(stream, "Counter", 0, [new CounterIncremented(stream, 7)], request.Token);
        await Poll.UntilAsync(() => _db.ScalarAsync<long>(
                $"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{SlowAppendProjection.Marker}%' AND pid <> pg_backend_pid()").GetAwaiter().GetResult() > 0,
            TimeSpan.FromSeconds(10), "the append reaching the database");
        operation.Effect.ShouldBe(OperationEffect.Uncertain, "sent, not yet known to have committed");
        await request.CancelAsync();

        (await appending).ShouldBe(1);
        operation.Effect.ShouldBe(OperationEffect.Committed);
        (await _db.CounterTotalAsync(stream)).ShouldBe(7);
    }
}

using Npgsql;
using NpgsqlTypes;
using Seq.Application.Pipeline;
using Seq.Infrastructure.EventSourcing;
using Seq.Tests.Support;

namespace Seq.Tests.EventSourcing;

/// <summary>
/// A test read model written with every row operation, so that the statements an append sends and the rows a rebuild
/// copies can be compared. A counter's amount says what its event does to the row of its counter id.
/// </summary>
sealed class RowOperationsProjection(params string[] tables) : IInlineProjection
{
    public const string Channel = "test_rows_changed";
    public const string CreateTables = """
        CREATE TABLE test_rows (key text PRIMARY KEY, amount integer NOT NULL, note text NULL);
        CREATE TABLE test_row_keys (key text PRIMARY KEY);
        CREATE TABLE test_row_log (key text NOT NULL, amount integer NOT NULL, nothing text NULL);
        """;

    public static readonly ReadModelTable Rows = new("test_rows",
        new ReadModelColumn("key", NpgsqlDbType.Text), new ReadModelColumn("amount", NpgsqlDbType.Integer), new ReadModelColumn("note", NpgsqlDbType.Text));
    public static readonly ReadModelTable Keys = new("test_row_keys", new ReadModelColumn("key", NpgsqlDbType.Text));

    public IReadOnlyList<string>? Tables => tables.Length == 0 ? null : tables;

    public bool Handles(Type eventType) => eventType == typeof(CounterIncremented);

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        var e = (CounterIncremented)@event.Data;
        switch (e.Amount)
        {
            case 1:
                commands.Insert(Rows, e.CounterId, 1, null);
                commands.Upsert(Keys, e.CounterId);
                break;
            case 2:
                commands.Upsert(Rows, e.CounterId, 2, "upserted");
                commands.Upsert(Keys, e.CounterId);
                break;
            case 3:
                commands.Update(Rows, e.CounterId, ("note", "updated"), ("amount", 3));
                break;
            case 4:
                commands.Delete(Rows, e.CounterId);
                commands.Delete(Keys, e.CounterId);
                break;
            case 5:
                commands.Update(Rows, e.CounterId, ("amount", 5));
                commands.Update(Rows, e.CounterId);
                break;
        }
        commands.Add("INSERT INTO test_row_log (key, amount, nothing) VALUES ($1, $2, $3)", e.CounterId, e.Amount, null);
        commands.Notify(Channel);
        commands.Notify(Channel);
    }
}

public sealed class ReadModelTests : IAsyncLifetime
{
    TestEventStore _db = null!;
    PostgresEventStore _store = null!;

    public async Task InitializeAsync()
    {
        _db = await TestEventStore.CreateAsync();
        await using (var create = _db.DataSource.CreateCommand(RowOperationsProjection.CreateTables))
            await create.ExecuteNonQueryAsync();
        _store = new PostgresEventStore(_db.DataSource, _db.Serializer, [new RowOperationsProjection("test_rows", "test_row_keys", "test_row_log")],
            new OperationContext(), TimeProvider.System, []);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    ProjectionRebuild Rebuild(params IInlineProjection[] projections) => new(_db.DataSource, _db.Serializer, projections);

    async Task<string> DumpAsync(string table, string key = "key, amount") =>
        (await _db.ScalarAsync<string>($"SELECT coalesce(string_agg(row_to_json(r)::text, ';' ORDER BY {key}), '') FROM {table} r"))!;

    async Task<string[]> DumpAllAsync() =>
        [await DumpAsync("test_rows"), await DumpAsync("test_row_keys", "key"), await DumpAsync("test_row_log")];

    async Task AppendAsync(string stream, long version, params int[] amounts) =>
        await _store.AppendAsync(stream, "Counter", version, [.. amounts.Select(a => new CounterIncremented(stream, a))], default);

    [Fact]
    public void The_statements_of_a_table_name_its_columns_in_order_and_an_upsert_updates_every_column_but_the_key()
    {
        var rows = RowOperationsProjection.Rows;
        rows.InsertSql.ShouldBe("INSERT INTO test_rows (key, amount, note) VALUES ($1, $2, $3)");
        rows.UpsertSql.ShouldBe("INSERT INTO test_rows (key, amount, note) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET amount = excluded.amount, note = excluded.note");
        rows.DeleteSql.ShouldBe("DELETE FROM test_rows WHERE key = $1");
        rows.CopySql.ShouldBe("COPY test_rows (key, amount, note) FROM STDIN (FORMAT BINARY)");

        // A table of its key alone has nothing to update: the upsert keeps the row that is there.
        RowOperationsProjection.Keys.UpsertSql.ShouldBe("INSERT INTO test_row_keys (key) VALUES ($1) ON CONFLICT (key) DO NOTHING");
    }

    [Fact]
    public async Task Every_row_operation_gives_the_same_rows_through_an_append_as_through_a_rebuild()
    {
        await AppendAsync("a", 0, 1, 3);          // inserted, then two columns changed
        await AppendAsync("b", 0, 2, 2, 5);       // upserted twice (the key-only table keeps one row), then one column changed
        await AppendAsync("c", 0, 1, 4);          // inserted, then deleted
        await AppendAsync("d", 0, 3, 5, 4);       // changes and a delete of a row that does not exist change nothing
        await AppendAsync("e", 0, 1);             // inserted, with a null
        await AppendAsync("c", 2, 2);             // back after its delete
        var live = await DumpAllAsync();
        live[0].ShouldBe("""{"key":"a","amount":3,"note":"updated"};{"key":"b","amount":5,"note":"upserted"};{"key":"c","amount":2,"note":"upserted"};{"key":"e","amount":1,"note":null}""");
        live[1].ShouldBe("""{"key":"a"};{"key":"b"};{"key":"c"};{"key":"e"}""");

        await using (var wreck = _db.DataSource.CreateCommand("UPDATE test_rows SET note = 'wrong'; DELETE FROM test_row_keys WHERE key = 'a'; INSERT INTO test_row_keys VALUES ('z'); DELETE FROM test_row_log"))
            await wreck.ExecuteNonQueryAsync();
        var replayed = await Rebuild(new RowOperationsProjection("test_rows", "test_row_keys", "test_row_log")).RunAsync(default);

        replayed.ShouldBe(await _db.ScalarAsync<long>("SELECT count(*) FROM events"));
        replayed.ShouldBe(12);
        (await DumpAllAsync()).ShouldBe(live);
    }

    [Fact]
    public async Task A_rebuild_notifies_each_channel_its_projections_notify_when_it_commits()
    {
        await AppendAsync("a", 0, 1, 2);
        await using var listener = await _db.DataSource.OpenConnectionAsync();
        var heard = new List<string>();
        listener.Notification += (_, e) => heard.Add(e.Channel);
        await using (var listen = new NpgsqlCommand($"LISTEN {RowOperationsProjection.Channel}", listener))
            await listen.ExecuteNonQueryAsync();

        await Rebuild(new RowOperationsProjection("test_rows", "test_row_keys", "test_row_log")).RunAsync(default);

        (await listener.WaitAsync(TimeSpan.FromSeconds(30))).ShouldBeTrue("no notification after the rebuild");
        heard.ShouldBe([RowOperationsProjection.Channel]);
    }

    [Fact]
    public async Task A_rebuild_refuses_a_projection_that_does_not_declare_its_tables_or_writes_one_it_does_not_declare_and_changes_nothing()
    {
        await AppendAsync("a", 0, 1);
        var before = await DumpAllAsync();

        (await Should.ThrowAsync<InvalidOperationException>(() => Rebuild(new CounterTotalsProjection(), new RowOperationsProjection()).RunAsync(default)))
            .Message.ShouldBe("These projections do not declare the tables they keep, so they cannot be rebuilt: CounterTotalsProjection, RowOperationsProjection.");
        (await Should.ThrowAsync<InvalidOperationException>(() => Rebuild(new RowOperationsProjection("test_rows", "test_row_log")).RunAsync(default)))
            .Message.ShouldBe("Projections write rows of tables they do not declare, which a rebuild would not empty first: test_row_keys.");

        (await DumpAllAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_rebuild_waits_for_another_nodes_rebuild_and_for_appends_still_running_then_includes_them()
    {
        var projection = new RowOperationsProjection("test_rows", "test_row_keys", "test_row_log");
        await AppendAsync("a", 0, 1);

        // Another node's rebuild holds the rebuild lock.
        await using (var other = await _db.DataSource.OpenConnectionAsync())
        await using (var transaction = await other.BeginTransactionAsync())
        {
            await using (var take = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({ProjectionRebuild.LockId})", other, transaction))
                await take.ExecuteNonQueryAsync();
            var rebuild = Task.Run(() => Rebuild(projection).RunAsync(default));
            await WaitUntilBlockedAsync(rebuild, "locktype = 'advisory'");
            await transaction.CommitAsync();
            (await rebuild).ShouldBe(1);
        }

        // An append whose transaction is still open.
        await using (var writer = await _db.DataSource.OpenConnectionAsync())
        await using (var transaction = await writer.BeginTransactionAsync())
        {
            await _store.AppendAsync(writer, transaction, "b", "Counter", 0, [new CounterIncremented("b", 1)], default);
            var rebuild = Task.Run(() => Rebuild(projection).RunAsync(default));
            await WaitUntilBlockedAsync(rebuild, "locktype = 'relation' AND relation = 'streams'::regclass");
            await transaction.CommitAsync();
            (await rebuild).ShouldBe(2);
        }
        (await DumpAsync("test_rows")).ShouldBe("""{"key":"a","amount":1,"note":null};{"key":"b","amount":1,"note":null}""");
    }

    async Task WaitUntilBlockedAsync(Task rebuild, string lockCondition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await _db.ScalarAsync<long>($"SELECT count(*) FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND {lockCondition}") == 0)
        {
            rebuild.IsCompleted.ShouldBeFalse("the rebuild ran without waiting");
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the rebuild never waited");
            await Task.Delay(20);
        }
        rebuild.IsCompleted.ShouldBeFalse();
    }

    [Fact]
    public void A_row_must_have_a_value_for_every_column_and_a_change_must_name_a_column_of_the_table()
    {
        using var batch = new NpgsqlBatch();
        var commands = new ProjectionCommands(batch);

        Should.Throw<ArgumentException>(() => commands.Insert(RowOperationsProjection.Rows, "a", 1)).Message.ShouldBe("A row of test_rows has 3 values, not 2.");
        Should.Throw<ArgumentException>(() => commands.Upsert(RowOperationsProjection.Rows, "a", 1, null, null)).Message.ShouldBe("A row of test_rows has 3 values, not 4.");
        Should.Throw<ArgumentException>(() => commands.Update(RowOperationsProjection.Rows, "a", ("missing", 1))).Message.ShouldBe("The read-model table test_rows has no column missing.");
        Should.Throw<ArgumentException>(() => new ReadModelTable("empty")).Message.ShouldBe("A read-model table has at least its key column. (Parameter 'columns')");
        commands.Update(RowOperationsProjection.Rows, "a");
        batch.BatchCommands.Count.ShouldBe(0);

        commands.Notify("one");
        commands.Notify("one");
        commands.Notify("two");
        batch.BatchCommands.Select<NpgsqlBatchCommand, string>(c => c.CommandText).ShouldBe(["SELECT pg_notify($1, '')", "SELECT pg_notify($1, '')"]);
        batch.BatchCommands.Select<NpgsqlBatchCommand, object?>(c => c.Parameters[0].Value).ShouldBe(new object?[] { "one", "two" });
    }

    [Fact]
    public void In_a_rebuild_rows_follow_what_the_statements_would_do_and_notifications_wait_for_the_end()
    {
        using var batch = new NpgsqlBatch();
        var rows = new ReadModelRows();
        var commands = new ProjectionCommands(batch, rows);

        commands.Insert(RowOperationsProjection.Rows, "a", 1, null);
        Should.Throw<InvalidOperationException>(() => commands.Insert(RowOperationsProjection.Rows, "a", 2, null))
            .Message.ShouldBe("The rebuild inserts a second row of test_rows with key a.");
        Should.Throw<InvalidOperationException>(() => commands.Upsert(RowOperationsProjection.Rows, null, 2, null))
            .Message.ShouldBe("A row of test_rows has no value for its key key.");
        var row = new object?[] { "b", 2, "kept" };
        commands.Upsert(RowOperationsProjection.Rows, row);
        row[2] = "changed afterwards";
        commands.Update(RowOperationsProjection.Rows, "missing", ("amount", 9));
        commands.Delete(RowOperationsProjection.Rows, "missing");
        rows.Count.ShouldBe(2);
        commands.Delete(RowOperationsProjection.Rows, "a");
        commands.Upsert(RowOperationsProjection.Keys, "k");
        commands.Notify("channel");

        rows.Count.ShouldBe(2);
        rows.Tables.Select(t => t.Name).ShouldBe(["test_rows", "test_row_keys"], ignoreOrder: true);
        batch.BatchCommands.Count.ShouldBe(0);
        commands.Notified.ShouldBe(["channel"]);
    }
}

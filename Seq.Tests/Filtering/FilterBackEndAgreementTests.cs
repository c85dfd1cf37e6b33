using FsCheck;
using Xunit.Abstractions;
using FsCheck.Fluent;
using Npgsql;
using NpgsqlTypes;
using Seq.Application.Filtering;
using Seq.Infrastructure.Events;
using Seq.Tests.Support;

namespace Seq.Tests.Filtering;

public sealed class FilterBackEndAgreementTests(ITestOutputHelper output)
{
    const string CreateTable = """
        CREATE TEMP TABLE events (
            id integer PRIMARY KEY,
            timestamp timestamptz NOT NULL,
            level text,
            message_template text,
            rendered_message text,
            exception text,
            event_type bigint,
            trace_id text,
            span_id text,
            properties jsonb NOT NULL)
        """;

    [Fact]
    public async Task The_SQL_and_in_memory_back_ends_select_the_same_events_for_every_generated_filter()
    {
        await using var connection = new NpgsqlConnection(await TestPostgres.CreateDatabaseAsync("filter"));
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand(CreateTable, connection))
            await create.ExecuteNonQueryAsync();

        var cases = (from events in FilterGenerators.Events
                     from filters in Gen.ListOf(FilterGenerators.Filter, 16)
                     select (Events: events, Filters: filters)).ToArbitrary();

        var compared = 0;
        var matched = 0;
        var sqlTime = new System.Diagnostics.Stopwatch();
        var total = System.Diagnostics.Stopwatch.StartNew();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25).WithQuietOnSuccess(true), Prop.ForAll(cases, c =>
        {
            Load(connection, c.Events);
            foreach (var generated in c.Filters)
            {
                // Through the text, so that the parser is part of what must agree.
                var text = FilterGenerators.Format(generated);
                var filter = FilterParser.Parse(text);

                var inMemory = c.Events.Where(e => FilterEvaluator.Matches(filter, e.Event)).Select(e => e.Id).ToArray();
                sqlTime.Start();
                var inSql = Select(connection, filter);
                sqlTime.Stop();
                inSql.ShouldBe(inMemory, $"Filter: {text}\nEvents:\n{string.Join("\n", c.Events.Select(e => e.ToString()))}");
                compared++;
                if (inMemory.Length > 0 && inMemory.Length < c.Events.Length)
                    matched++;
            }
        }));

        output.WriteLine($"{compared} filters compared, {matched} split the events; {total.Elapsed.TotalSeconds:F1} s in all, {sqlTime.Elapsed.TotalSeconds:F1} s in SQL queries.");

        // The generators are only useful if filters often split the events, rather than matching all or none.
        compared.ShouldBeGreaterThan(300);
        matched.ShouldBeGreaterThan(compared / 10);
    }

    [Fact]
    public void Formatting_a_generated_filter_and_parsing_it_gives_back_the_same_tree()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100).WithQuietOnSuccess(true), Prop.ForAll(FilterGenerators.Filter.ToArbitrary(), generated =>
        {
            var text = FilterGenerators.Format(generated);
            var parsed = FilterParser.Parse(text);
            if (parsed is not TextExpression || generated is TextExpression)
                parsed.ShouldBe(generated, text);
        }));
    }

    static void Load(NpgsqlConnection connection, GeneratedEvent[] events)
    {
        using (var truncate = new NpgsqlCommand("TRUNCATE events", connection))
            truncate.ExecuteNonQuery();

        using var import = connection.BeginBinaryImport(
            "COPY events (id, timestamp, level, message_template, rendered_message, exception, event_type, trace_id, span_id, properties) FROM STDIN (FORMAT BINARY)");
        foreach (var generated in events)
        {
            var e = generated.Event;
            import.StartRow();
            import.Write(generated.Id, NpgsqlDbType.Integer);
            import.Write(e.Timestamp, NpgsqlDbType.TimestampTz);
            WriteText(import, e.Level);
            WriteText(import, e.MessageTemplate);
            WriteText(import, e.RenderedMessage);
            WriteText(import, e.Exception);
            if (e.EventType is { } type)
                import.Write((long)type, NpgsqlDbType.Bigint);
            else
                import.WriteNull();
            WriteText(import, e.TraceId);
            WriteText(import, e.SpanId);
            import.Write(generated.PropertiesJson, NpgsqlDbType.Jsonb);
        }
        import.Complete();
    }

    static void WriteText(NpgsqlBinaryImporter import, string? value)
    {
        if (value is null)
            import.WriteNull();
        else
            import.Write(value, NpgsqlDbType.Text);
    }

    static int[] Select(NpgsqlConnection connection, FilterExpression filter)
    {
        using var command = new NpgsqlCommand { Connection = connection };
        command.CommandText = $"SELECT e.id FROM events e WHERE {FilterSql.Translate(filter, command)} ORDER BY e.id";
        var ids = new List<int>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
            ids.Add(reader.GetInt32(0));
        return [.. ids];
    }
}

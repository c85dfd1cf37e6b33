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
            properties jsonb NOT NULL);
        -- As on log_events (schema step 11); with sequential scans off, containment is answered through the index.
        CREATE INDEX ON events USING gin (properties jsonb_path_ops);
        SET enable_seqscan = off;
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
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40).WithQuietOnSuccess(true), Prop.ForAll(cases, c =>
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
    public async Task Property_equality_is_translated_to_indexable_containment_and_agrees_with_the_in_memory_back_end()
    {
        await using var connection = new NpgsqlConnection(await TestPostgres.CreateDatabaseAsync("filter"));
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand(CreateTable, connection))
            await create.ExecuteNonQueryAsync();

        var cases = (from events in FilterGenerators.Events
                     from filters in Gen.ListOf(FilterGenerators.PropertyEquality, 24)
                     select (Events: events, Filters: filters)).ToArbitrary();

        var compared = 0;
        var matched = 0;
        var contained = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(30).WithQuietOnSuccess(true), Prop.ForAll(cases, c =>
        {
            Load(connection, c.Events);
            foreach (var generated in c.Filters)
            {
                var text = FilterGenerators.Format(generated);
                var filter = FilterParser.Parse(text);
                using (var command = new NpgsqlCommand())
                {
                    if (FilterSql.Translate(filter, command).Contains("e.properties @>", StringComparison.Ordinal))
                        contained++;
                }

                var inMemory = c.Events.Where(e => FilterEvaluator.Matches(filter, e.Event)).Select(e => e.Id).ToArray();
                Select(connection, filter).ShouldBe(inMemory, $"Filter: {text}\nEvents:\n{string.Join("\n", c.Events.Select(e => e.ToString()))}");
                compared++;
                if (inMemory.Length > 0)
                    matched++;
            }
        }));

        output.WriteLine($"{compared} property equalities compared, {contained} as containment, {matched} matched some event.");
        contained.ShouldBeGreaterThan(compared / 2);
        matched.ShouldBeGreaterThan(compared / 10);
    }

    [Theory]
    [InlineData("A = 'x'", """{"A":"x"}""")]
    [InlineData("'x' = A.B", """{"A":{"B":"x"}}""")]
    [InlineData("A['b c'] = 2.50", """{"A":{"b c":2.50}}""")]
    [InlineData("A = null", """{"A":null}""")]
    [InlineData("A = true", """{"A":true}""")]
    [InlineData("A = '1' ci", """{"A":"1"}""")]
    public void Equality_of_a_property_path_and_a_constant_becomes_one_containment_of_a_nested_document(string text, string document)
    {
        using var command = new NpgsqlCommand();
        FilterSql.Translate(FilterParser.Parse(text), command).ShouldMatch(@"^\(e\.properties @> @filter_\d+_0::jsonb\)$");
        command.Parameters[0].Value.ShouldBe(document);
    }

    [Fact]
    public void Case_insensitive_equality_probes_each_ascii_case_variant_and_gives_up_on_long_strings()
    {
        using (var command = new NpgsqlCommand())
        {
            FilterSql.Translate(FilterParser.Parse("A = 'aB-é' ci"), command).ShouldMatch(@"^\(e\.properties @> ANY\(@filter_\d+_0\)\)$");
            ((string[])command.Parameters[0].Value!).Order(StringComparer.Ordinal).ShouldBe(
                ["{\"A\":\"AB-\\u00E9\"}", "{\"A\":\"Ab-\\u00E9\"}", "{\"A\":\"aB-\\u00E9\"}", "{\"A\":\"ab-\\u00E9\"}"]);
        }
        using (var command = new NpgsqlCommand())
            FilterSql.Translate(FilterParser.Parse("A = 'Information' ci"), command).ShouldNotContain("@>");
        using (var command = new NpgsqlCommand())
            FilterSql.Translate(FilterParser.Parse("A <> 'x'"), command).ShouldNotContain("@>");
        using (var command = new NpgsqlCommand())
            FilterSql.Translate(FilterParser.Parse("A = B"), command).ShouldNotContain("@>");
    }

    [Fact]
    public void Formatting_a_generated_filter_and_parsing_it_gives_back_the_same_tree()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000).WithQuietOnSuccess(true), Prop.ForAll(FilterGenerators.Filter.ToArbitrary(), generated =>
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

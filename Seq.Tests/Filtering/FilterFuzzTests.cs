using System.Net;
using System.Text;
using System.Text.Json;
using FsCheck.Fluent;
using Npgsql;
using Seq.Application.Filtering;
using Seq.Infrastructure.Events;
using Seq.Tests.Support;

namespace Seq.Tests.Filtering;

public sealed class FilterFuzzTests
{
    static readonly string[] Fragments =
    [
        "(", ")", "[", "]", "'", "''", "\"", "\\", "@", "@Level", "@Properties", "=", "<>", "<=", ">", "-", ".", ",", " and ", " or ", " not ",
        " like ", " in ", " is ", " null", " ci", "Has(", "DateTime(", "0x", "1e999", "99999999999999999999999999999999", "%", "_", "\u00e9",
        "\ud83d\ude00", "\ud800", "\0", "\t", "\n", "A", "1", "true",
    ];

    /// <summary>Generated filters with characters and fragments deleted, inserted and replaced, plus wholly random text.</summary>
    static List<string> Inputs(int seed, int count)
    {
        var random = new Random(seed);
        var valid = FilterGenerators.Filter.Sample(count, 8).Select(FilterGenerators.Format).ToArray();
        var inputs = new List<string>();
        foreach (var text in valid)
        {
            var mutated = new StringBuilder(text);
            for (var m = random.Next(1, 4); m > 0; m--)
            {
                var at = random.Next(mutated.Length + 1);
                switch (random.Next(3))
                {
                    case 0 when mutated.Length > 0 && at < mutated.Length:
                        mutated.Remove(at, Math.Min(random.Next(1, 4), mutated.Length - at));
                        break;
                    case 1:
                        mutated.Insert(at, Fragments[random.Next(Fragments.Length)]);
                        break;
                    default:
                        mutated.Insert(at, (char)random.Next(0, 0x3000));
                        break;
                }
            }
            inputs.Add(text);
            inputs.Add(mutated.ToString());
            inputs.Add(new string([.. Enumerable.Range(0, random.Next(0, 40)).Select(_ => (char)random.Next(0, 128))]));
            inputs.Add(string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => Fragments[random.Next(Fragments.Length)])));
        }
        return inputs;
    }

    [Fact]
    public async Task Random_and_mutated_filter_text_is_refused_with_a_position_or_runs_in_both_back_ends()
    {
        await using var connection = new NpgsqlConnection(await TestPostgres.CreateDatabaseAsync("filterfuzz"));
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand("""
            CREATE TEMP TABLE events (timestamp timestamptz NOT NULL, level text, message_template text, rendered_message text, exception text,
                event_type bigint, trace_id text, span_id text, properties jsonb NOT NULL);
            INSERT INTO events VALUES (now(), 'Error', 'T {A}', 'T 1', 'boom', 7, 't', 's', '{"A": 1, "B": {"C": "x"}, "with space": [1, 2]}');
            """, connection))
            await create.ExecuteNonQueryAsync();
        var e = new FilterEvent(DateTimeOffset.UtcNow, "Error", "T {A}", "T 1", "boom", 7, "t", "s",
            JsonDocument.Parse("""{"A": 1, "B": {"C": "x"}, "with space": [1, 2]}""").RootElement);

        var parsed = 0;
        var refused = 0;
        foreach (var input in Inputs(seed: 13, count: 250))
        {
            FilterExpression filter;
            try
            {
                filter = FilterParser.Parse(input);
            }
            catch (FilterSyntaxException error)
            {
                error.Position.ShouldBeInRange(0, input.Length, input);
                error.Message.ShouldContain($"position {error.Position}");
                refused++;
                continue;
            }

            parsed++;
            var inMemory = FilterEvaluator.Matches(filter, e);
            await using var command = new NpgsqlCommand { Connection = connection };
            command.CommandText = $"SELECT count(*) FROM events e WHERE {FilterSql.Translate(filter, command)}";
            ((long)(await command.ExecuteScalarAsync())!).ShouldBe(inMemory ? 1 : 0, input);
        }

        parsed.ShouldBeGreaterThan(100);
        refused.ShouldBeGreaterThan(100);
    }

    [Fact]
    public async Task Mutated_signal_filters_sent_over_HTTP_get_201_or_400_and_never_a_500()
    {
        await using var server = await TestServer.StartAsync();
        var statuses = new Dictionary<HttpStatusCode, int>();
        foreach (var filter in Inputs(seed: 31, count: 25))
        {
            var body = JsonSerializer.Serialize(new { Title = "Fuzz", Filters = new[] { new { Filter = filter } } });
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await server.Client.PostAsync("/api/signals", content);
            var text = await response.Content.ReadAsStringAsync();
            response.StatusCode.ShouldBeOneOf([HttpStatusCode.Created, HttpStatusCode.BadRequest], $"{filter} -> {text}");
            if (response.StatusCode == HttpStatusCode.BadRequest)
                JsonDocument.Parse(text).RootElement.GetProperty("Error").GetString().ShouldNotBeNullOrEmpty();
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
        }

        statuses.GetValueOrDefault(HttpStatusCode.Created).ShouldBeGreaterThan(5);
        statuses.GetValueOrDefault(HttpStatusCode.BadRequest).ShouldBeGreaterThan(5);
    }
}

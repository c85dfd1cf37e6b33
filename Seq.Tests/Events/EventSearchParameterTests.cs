using System.Net;
using System.Text.Json;
using Seq.Tests.Support;

namespace Seq.Tests.Events;

public sealed class EventSearchParameterTests(EventServerFixture fixture) : IClassFixture<EventServerFixture>
{
    static string T(DateTimeOffset t) => t.ToString("O");

    async Task<DateTimeOffset> SevenEventsAsync()
    {
        var window = EventServerFixture.NewWindow();
        var body = string.Join("\n", Enumerable.Range(0, 7).Select(i => $$"""{"@t":"{{T(window.AddMinutes(i))}}","@mt":"Number {N}","N":{{i}}}"""));
        using (var response = await fixture.PostClefAsync(body, fixture.IngestKey))
            response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return window;
    }

    [Fact]
    public async Task StartAtId_starts_inclusively_at_an_event_where_afterId_starts_after_it()
    {
        var window = await SevenEventsAsync();
        var all = await fixture.SearchAsync(window);
        var fourth = all[3].GetProperty("Id").GetString();

        (await fixture.SearchAsync(window, "&startAtId=" + fourth, count: 2)).Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["3", "2"]);
        (await fixture.SearchAsync(window, "&afterId=" + fourth, count: 2)).Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["2", "1"]);
        (await fixture.SearchAsync(window, "&startAtId=" + fourth + "&filter=" + Uri.EscapeDataString("N <> 2"))).Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["3", "1", "0"]);
    }

    [Fact]
    public async Task Render_and_shortCircuitAfter_are_accepted_and_a_full_page_is_still_answered_and_marked_partial()
    {
        var window = await SevenEventsAsync();
        var range = $"fromDateUtc={Uri.EscapeDataString(window.ToString("O"))}&toDateUtc={Uri.EscapeDataString(window.AddHours(1).ToString("O"))}";

        using (var response = await fixture.Server.Client.GetAsync($"/api/events/signal?{range}&count=4&render=true&shortCircuitAfter=1"))
        {
            var body = await TestServer.ReadAsync(response, HttpStatusCode.OK);
            body.GetProperty("Events").EnumerateArray().Select(e => e.GetProperty("RenderedMessage").GetString()).ShouldBe(["Number 6", "Number 5", "Number 4", "Number 3"]);
            body.GetProperty("Statistics").GetProperty("Status").GetString().ShouldBe("Partial");
        }
        using (var response = await fixture.Server.Client.GetAsync($"/api/events/signal?{range}&count=10&render=false&shortCircuitAfter=0"))
        {
            var body = await TestServer.ReadAsync(response, HttpStatusCode.OK);
            body.GetProperty("Events").GetArrayLength().ShouldBe(7);
            body.GetProperty("Statistics").GetProperty("Status").GetString().ShouldBe("Complete");
        }

        var id = (await fixture.SearchAsync(window))[0].GetProperty("Id").GetString();
        (await fixture.Server.GetJsonAsync($"/api/events/{id}?render=true")).GetProperty("RenderedMessage").GetString().ShouldBe("Number 6");
        using (var bad = await fixture.Server.Client.GetAsync($"/api/events/{id}?render=yes"))
            (await TestServer.ReadAsync(bad, HttpStatusCode.BadRequest)).GetProperty("Error").GetString().ShouldBe("render must be true or false.");
    }

    [Theory]
    [InlineData("count=0", "count must be a whole number between 1 and 10000.")]
    [InlineData("count=ten", "count must be a whole number between 1 and 10000.")]
    [InlineData("count=1&count=2", "Give count once.")]
    [InlineData("fromDateUtc=yesterday", "fromDateUtc must be an ISO 8601 date and time.")]
    [InlineData("toDateUtc=2024-13-01", "toDateUtc must be an ISO 8601 date and time.")]
    [InlineData("afterId=event-zz", "afterId is not the id of an event.")]
    [InlineData("startAtId=42", "startAtId is not the id of an event.")]
    [InlineData("render=1", "render must be true or false.")]
    [InlineData("shortCircuitAfter=-1", "shortCircuitAfter must be a whole number.")]
    [InlineData("filter=A&filter=B", "Give filter once.")]
    public async Task A_search_parameter_that_cannot_be_read_is_refused_with_400_naming_it(string query, string error)
    {
        foreach (var path in new[] { "/api/events?", "/api/events/signal?" })
        {
            using var response = await fixture.Server.Client.GetAsync(path + query);
            var body = await TestServer.ReadAsync(response, HttpStatusCode.BadRequest);
            body.GetProperty("Error").GetString().ShouldBe(error, path + query);
        }
    }

    [Fact]
    public async Task Matches_older_than_the_newest_ten_thousand_events_of_the_window_are_found_after_the_newer_ones()
    {
        var window = EventServerFixture.NewWindow();
        var body = string.Join("\n", Enumerable.Range(0, 12_000).Select(i =>
            $$"""{"@t":"{{T(window.AddMilliseconds(i * 100))}}","N":{{i}},"Kind":"{{(i is 5 or 7 or 11_990 ? "rare" : i % 2 == 0 ? "even" : "odd")}}"}"""));
        using (var response = await fixture.PostClefAsync(body, fixture.IngestKey))
            response.StatusCode.ShouldBe(HttpStatusCode.Created);

        (await fixture.SearchAsync(window, "&filter=" + Uri.EscapeDataString("Kind = 'rare'"), count: 30)).Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["11990", "7", "5"]);
        (await fixture.SearchAsync(window, "&filter=" + Uri.EscapeDataString("Kind = 'rare' or N = 6"), count: 3)).Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["11990", "7", "6"]);
        (await fixture.SearchAsync(window, "&filter=" + Uri.EscapeDataString("Kind = 'even'"), count: 3)).Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["11998", "11996", "11994"]);
        (await fixture.SearchAsync(window, "&filter=" + Uri.EscapeDataString("N < 2"), count: 5)).Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["1", "0"]);
    }

    [Fact]
    public async Task An_equality_search_is_answered_through_the_properties_index()
    {
        var window = await SevenEventsAsync();
        (await fixture.SearchAsync(window, "&filter=" + Uri.EscapeDataString("N = 5"))).Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["5"]);

        await using var connection = new Npgsql.NpgsqlConnection(fixture.Server.ConnectionString);
        await connection.OpenAsync();
        await using (var off = new Npgsql.NpgsqlCommand("SET enable_seqscan = off; SET enable_indexscan = off", connection))
            await off.ExecuteNonQueryAsync();
        await using var explain = new Npgsql.NpgsqlCommand { Connection = connection };
        explain.CommandText = "EXPLAIN SELECT e.id FROM log_events e WHERE " +
                              Seq.Infrastructure.Events.FilterSql.Translate(Seq.Application.Filtering.FilterParser.Parse("N = 5 and Name = 'x'"), explain);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                plan.Add(reader.GetString(0));
        }
        string.Join("\n", plan).ShouldMatch(@"Bitmap Index Scan on log_events_\d+_properties_idx");
    }
}

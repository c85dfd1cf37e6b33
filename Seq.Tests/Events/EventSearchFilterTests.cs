using System.Net;
using System.Net.Http.Json;
using Seq.Api.Hosting;
using Seq.Tests.Support;

namespace Seq.Tests.Events;

public sealed class EventSearchFilterTests : IAsyncLifetime
{
    readonly TestPaths _paths = new();
    TestServer _server = null!;
    string _key = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_paths.New("audit-events"), null, null) });
        _key = await EventServerFixture.CreateKeyAsync(_server.Client, "ingest", ["Ingest"]);
        var at = DateTimeOffset.UtcNow.AddMinutes(-30);
        var lines = new[]
        {
            ("Information", "alpha", "north", 1, "Order placed for alpha"),
            ("Error", "beta", "north", 2, "Payment refused for beta"),
            ("Warning", "gamma", "south", 3, "Stock low for gamma"),
            ("Error", "delta", "south", 4, "Payment refused for delta"),
        }.Select((e, i) => $$"""{"@t":"{{at.AddSeconds(i):O}}","@l":"{{e.Item1}}","@mt":"Event for {Customer}","@m":"{{e.Item5}}","Customer":"{{e.Item2}}","Region":"{{e.Item3}}","N":{{e.Item4}}}""");
        using var client = _server.ApiKeyClient(_key);
        (await client.PostAsync("/api/events/raw", new StringContent(string.Join("\n", lines)))).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _server.DisposeAsync();
        }
        finally
        {
            _paths.Dispose();
        }
    }

    async Task<List<string>> CustomersAsync(string filter, HttpClient? client = null)
    {
        using var response = await (client ?? _server.Client).GetAsync("/api/events?filter=" + Uri.EscapeDataString(filter));
        var body = await TestServer.ReadAsync(response, HttpStatusCode.OK);
        return [.. body.EnumerateArray().Select(e => EventServerFixture.Property(e, "Customer").Trim('"'))];
    }

    [Fact]
    public async Task A_search_filter_selects_by_property_level_and_free_text_newest_first_and_is_audited_without_event_data()
    {
        (await CustomersAsync("Region = 'south'")).ShouldBe(["delta", "gamma"]);
        (await CustomersAsync("@Level = 'Error' and N > 2")).ShouldBe(["delta"]);
        (await CustomersAsync("\"payment refused\"")).ShouldBe(["delta", "beta"]);
        (await CustomersAsync("Customer in ['alpha', 'gamma']")).ShouldBe(["gamma", "alpha"]);

        using (var warnings = await _server.Client.GetAsync("/api/events?signal=signal-m33302&filter=" + Uri.EscapeDataString("Has(Customer)")))
            (await TestServer.ReadAsync(warnings, HttpStatusCode.OK)).EnumerateArray().Select(e => EventServerFixture.Property(e, "Customer")).ShouldBe(["\"gamma\""]);
        (await _server.Client.GetAsync("/api/events?signal=signal-none")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        using (var bad = await _server.Client.GetAsync("/api/events?filter=" + Uri.EscapeDataString("Region = ")))
            (await TestServer.ReadAsync(bad, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("position");

        var audit = await _server.AuditEventsAsync(events => events.Count(e => e.GetProperty("Operation").GetString() == "Search") >= 4);
        var search = audit.First(e => e.GetProperty("Operation").GetString() == "Search");
        search.GetProperty("Category").GetString().ShouldBe("Event");
        search.GetProperty("Event").GetString().ShouldBe("Advise");
        search.GetProperty("Filter").GetString().ShouldBe("Region = 'south'");
        string.Join("\n", audit.Select(e => e.GetRawText())).ShouldNotContain("Payment refused for");
    }

    [Fact]
    public async Task A_keys_input_filter_drops_events_that_do_not_match_before_they_are_stored()
    {
        var key = await EventServerFixture.CreateKeyAsync(_server.Client, "errors only", ["Ingest"], new { Filter = new { Filter = "@Level = 'Error' or Has(Keep)" } });
        var at = DateTimeOffset.UtcNow.AddMinutes(-20);
        using var client = _server.ApiKeyClient(key);
        var body = string.Join("\n",
            $$"""{"@t":"{{at:O}}","@l":"Information","Customer":"filtered-out"}""",
            $$"""{"@t":"{{at.AddSeconds(1):O}}","@l":"Error","Customer":"filtered-in"}""",
            $$"""{"@t":"{{at.AddSeconds(2):O}}","Customer":"kept-by-property","Keep":1}""");
        (await client.PostAsync("/api/events/raw", new StringContent(body))).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await CustomersAsync("Customer like 'filtered%' or Customer = 'kept-by-property'")).ShouldBe(["kept-by-property", "filtered-in"]);
    }

    static readonly string[] Escapes =
    [
        "true",
        "Region = 'south' or true",
        "1 = 1) or (1 = 1",
        "Region = 'north') or (Region <> 'north'",
        "Region = 'south' or Region <> 'south' or Region is null",
        "not (Region = 'north')",
        "\"refused\" or Has(Customer)",
        "')) or true --",
    ];

    [Fact]
    public async Task A_users_view_filter_cannot_be_escaped_by_any_filter_text()
    {
        var username = "viewer" + Guid.NewGuid().ToString("N")[..8];
        var userId = await _server.CreateUserAsync(username, "viewer-password-123", "role-user-readonly");
        using (var change = await _server.Client.PutAsJsonAsync($"/api/users/{userId}", new
        {
            Id = userId, Username = username, RoleIds = new[] { "role-user-readonly" },
            ViewFilter = new { Filter = "Region = 'north'", DescriptionIsExcluded = false },
        }))
            change.StatusCode.ShouldBe(HttpStatusCode.OK, await change.Content.ReadAsStringAsync());
        var viewer = await _server.LoginAsync(username, "viewer-password-123");

        (await CustomersAsync("Has(Customer)", viewer)).ShouldBe(["beta", "alpha"]);
        foreach (var attempt in Escapes)
        {
            using var response = await viewer.GetAsync("/api/events?filter=" + Uri.EscapeDataString(attempt));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var body = await TestServer.ReadAsync(response, HttpStatusCode.OK);
                body.EnumerateArray().Select(e => EventServerFixture.Property(e, "Region")).ShouldAllBe(r => r == "\"north\"", attempt);
            }
            else
            {
                response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, attempt);
            }
        }

        // Nor through a signal.
        using (var warnings = await viewer.GetAsync("/api/events?signal=signal-m33302"))
            (await TestServer.ReadAsync(warnings, HttpStatusCode.OK)).EnumerateArray().ShouldBeEmpty();

        // Nor by asking for an event outside the view by its id.
        var south = (await _server.GetJsonAsync("/api/events?filter=" + Uri.EscapeDataString("Region = 'south'"))).EnumerateArray().First().GetProperty("Id").GetString();
        (await viewer.GetAsync($"/api/events/{south}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Random_and_mutated_filters_never_get_a_server_error()
    {
        var random = new Random(13);
        string[] seeds = ["Region = 'south' and N >= 2", "@Level in ['Error', 'Fatal'] ci", "Has(Customer) or \"refused\"", "Customer like 'a%' ci", "not (N <> 3)", "User['first name'] = null", "@Timestamp > DateTime('2024-01-01')"];
        const string alphabet = "()[]'\"=<>!%_@.,0123456789e- \\\u0000\ud800andornotlikeinci";
        for (var i = 0; i < 150; i++)
        {
            var text = new System.Text.StringBuilder(seeds[random.Next(seeds.Length)]);
            for (var edit = random.Next(1, 5); edit > 0 && text.Length > 0; edit--)
            {
                var at = random.Next(text.Length);
                if (random.Next(2) == 0)
                    text.Remove(at, 1);
                else
                    text.Insert(at, alphabet[random.Next(alphabet.Length)]);
            }
            using var response = await _server.Client.GetAsync("/api/events?filter=" + Uri.EscapeDataString(text.ToString()));
            ((int)response.StatusCode).ShouldBeOneOf([200, 400], $"filter {text} got {await response.Content.ReadAsStringAsync()}");
        }
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using Seq.Tests.Support;

namespace Seq.Tests.Events;

public sealed class IngestionTests(EventServerFixture fixture) : IClassFixture<EventServerFixture>
{
    const string Accepted = """{"MinimumLevelAccepted":null}""";

    static string T(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'");

    [Fact]
    public async Task Every_CLEF_field_is_stored_and_returned_by_search()
    {
        var window = EventServerFixture.NewWindow();
        var at = window.AddMinutes(5).AddTicks(1234560);
        var line = $$$"""
            {"@t":"{{{T(at)}}}","@mt":"User {User} bought {Count:000} items","@m":"User \"ann\" bought 007 items","@l":"Warning","@x":"System.Exception: boom","@i":"a1b2c3d4","@r":["007"],"@tr":"4bf92f3577b34da6a3ce929d0e0e4736","@sp":"00f067aa0ba902b7","@ps":"00f067aa0ba902b6","@st":"{{{T(at.AddSeconds(-1))}}}","@sk":"Server","User":"ann","Count":7,"@@escaped":"at","@unknown":"user data","Nested":{"A":[1,"two",null]}}
            """;
        using var response = await fixture.PostClefAsync(line, fixture.IngestKey);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await response.Content.ReadAsStringAsync()).ShouldBe(Accepted);

        var stored = (await fixture.SearchAsync(window)).ShouldHaveSingleItem();
        stored.GetProperty("Timestamp").GetString().ShouldBe(T(at));
        stored.GetProperty("Level").GetString().ShouldBe("Warning");
        stored.GetProperty("MessageTemplate").GetString().ShouldBe("User {User} bought {Count:000} items");
        stored.GetProperty("RenderedMessage").GetString().ShouldBe("User \"ann\" bought 007 items");
        stored.GetProperty("Exception").GetString().ShouldBe("System.Exception: boom");
        stored.GetProperty("EventType").GetString().ShouldBe("$A1B2C3D4");
        stored.GetProperty("TraceId").GetString().ShouldBe("4bf92f3577b34da6a3ce929d0e0e4736");
        stored.GetProperty("SpanId").GetString().ShouldBe("00f067aa0ba902b7");
        stored.GetProperty("ParentId").GetString().ShouldBe("00f067aa0ba902b6");
        stored.GetProperty("SpanKind").GetString().ShouldBe("Server");
        stored.GetProperty("Start").GetString().ShouldBe(T(at.AddSeconds(-1)));
        EventServerFixture.Property(stored, "User").ShouldBe("\"ann\"");
        EventServerFixture.Property(stored, "Count").ShouldBe("7");
        EventServerFixture.Property(stored, "@escaped").ShouldBe("\"at\"");
        EventServerFixture.Property(stored, "@unknown").ShouldBe("\"user data\"");
        EventServerFixture.Property(stored, "Nested").ShouldBe("""{"A":[1,"two",null]}""");
        EventServerFixture.HasProperty(stored, "@@escaped").ShouldBeFalse();
        var tokens = stored.GetProperty("MessageTemplateTokens").EnumerateArray().ToList();
        tokens.Select(t => t.TryGetProperty("Text", out var text) ? text.GetString() : "{" + t.GetProperty("PropertyName").GetString() + "}")
            .ShouldBe(["User ", "{User}", " bought ", "{Count}", " items"]);
        tokens[3].GetProperty("FormattedValue").GetString().ShouldBe("007");

        var id = stored.GetProperty("Id").GetString()!;
        var single = await fixture.Server.GetJsonAsync($"/api/events/{id}");
        single.GetProperty("RenderedMessage").GetString().ShouldBe("User \"ann\" bought 007 items");
    }

    [Fact]
    public async Task An_event_without_a_rendered_message_is_rendered_from_its_template_and_gets_an_event_type_and_the_default_level()
    {
        var window = EventServerFixture.NewWindow();
        using var response = await fixture.PostClefAsync($$"""{"@t":"{{T(window.AddMinutes(1))}}","@mt":"Hello {Name}, {Flag}","Name":"world","Flag":true}""", fixture.IngestKey);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var stored = (await fixture.SearchAsync(window)).ShouldHaveSingleItem();
        stored.GetProperty("RenderedMessage").GetString().ShouldBe("Hello \"world\", True");
        stored.GetProperty("Level").GetString().ShouldBe("Information");
        stored.GetProperty("EventType").GetString()!.ShouldMatch("^\\$[0-9A-F]{8}$");
    }

    [Fact]
    public async Task An_empty_body_is_accepted_with_the_exact_answer_the_Serilog_sink_searches_for()
    {
        using var response = await fixture.PostClefAsync("", fixture.IngestKey);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await response.Content.ReadAsStringAsync()).ShouldBe(Accepted);

        using var withCharset = await fixture.PostClefAsync("", fixture.IngestKey, "/ingest/clef", "application/vnd.serilog.clef; charset=utf-8");
        withCharset.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await withCharset.Content.ReadAsStringAsync()).ShouldBe(Accepted);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "not json at all", "the line is not a JSON object (line 2)" },
        { "[1,2,3]", "the line is not a JSON object (line 2)" },
        { """{"@mt":"no timestamp"}""", "the event has no @t timestamp (line 2)" },
        { """{"@t":"yesterday-ish"}""", "the @t field must be an ISO 8601 timestamp (line 2)" },
        { """{"@t":12345}""", "the @t field must be an ISO 8601 timestamp (line 2)" },
        { """{"@t":"2001-01-01T00:00:00Z","@l":3}""", "the @l field must be a string (line 2)" },
        { """{"@t":"2001-01-01T00:00:00Z","@x":{"Message":"x"}}""", "the @x field must be a string (line 2)" },
        { """{"@t":"2001-01-01T00:00:00Z","@i":"not hex"}""", "the @i field must be a 32-bit event type, as a number or in hexadecimal (line 2)" },
        { """{"@t":"2001-01-01T00:00:00Z","A":"nul\u0000"}""", "the event holds a NUL character, which cannot be stored (line 2)" },
        { """{"@t":"2001-01-01T00:00:00Z","A":"\ud800"}""", "the event holds text that is not valid Unicode (line 2)" },
        { """{"@t":"2001-01-01T00:00:00Z","A":1e999}""", "the event holds a number out of range (line 2)" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task A_malformed_line_is_refused_with_its_reason_and_line_and_nothing_of_the_request_is_stored(string bad, string reason)
    {
        var window = EventServerFixture.NewWindow();
        var good = $$"""{"@t":"{{T(window.AddMinutes(1))}}","@mt":"good"}""";
        using var response = await fixture.PostClefAsync(good + "\n" + bad.Replace("2001-01-01T00:00:00Z", T(window.AddMinutes(2))) + "\n" + good, fixture.IngestKey);
        var body = await TestServer.ReadAsync(response, HttpStatusCode.BadRequest);
        body.GetProperty("Error").GetString().ShouldBe($"Payload validation failed: {reason}.");
        (await fixture.SearchAsync(window)).ShouldBeEmpty();
    }

    [Fact]
    public async Task An_event_over_the_event_size_setting_is_refused()
    {
        await fixture.Server.PutJsonAsync("/api/settings/setting-RawEventMaximumContentLength", """{"Value":"2048"}""", HttpStatusCode.OK);
        try
        {
            var window = EventServerFixture.NewWindow();
            var line = $$"""{"@t":"{{T(window.AddMinutes(1))}}","Big":"{{new string('x', 3000)}}"}""";
            using var response = await fixture.PostClefAsync(line, fixture.IngestKey);
            (await TestServer.ReadAsync(response, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()
                .ShouldBe("Payload validation failed: the event is larger than the maximum of 2048 bytes (setting RawEventMaximumContentLength) (line 1).");
            (await fixture.SearchAsync(window)).ShouldBeEmpty();
        }
        finally
        {
            await fixture.Server.PutJsonAsync("/api/settings/setting-RawEventMaximumContentLength", """{"Value":"262144"}""", HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task The_default_limits_accept_a_thousand_events_and_an_event_of_256_KB_in_one_request()
    {
        var window = EventServerFixture.NewWindow();
        var lines = Enumerable.Range(0, 999).Select(i => $$"""{"@t":"{{T(window.AddSeconds(i))}}","@mt":"Event {N}","N":{{i}}}""").ToList();
        var big = $$"""{"@t":"{{T(window.AddSeconds(1000))}}","Big":""}""";
        lines.Add(big.Replace("\"Big\":\"\"", "\"Big\":\"" + new string('y', 256 * 1024 - big.Length - 1) + "\""));
        using var response = await fixture.PostClefAsync(string.Join("\n", lines) + "\n", fixture.IngestKey);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await fixture.SearchAsync(window)).Count.ShouldBe(1000);
    }

    [Fact]
    public async Task A_body_over_the_payload_setting_gets_413_with_or_without_a_content_length()
    {
        var window = EventServerFixture.NewWindow();
        var line = $$"""{"@t":"{{T(window.AddMinutes(1))}}","Pad":"{{new string('p', 1000)}}"}""" + "\n";
        var body = string.Concat(Enumerable.Repeat(line, 11 * 1024));
        using (var response = await fixture.PostClefAsync(body, fixture.IngestKey))
            (await TestServer.ReadAsync(response, HttpStatusCode.RequestEntityTooLarge)).GetProperty("Error").GetString()!.ShouldContain("RawPayloadMaximumContentLength");

        using var client = fixture.Server.CreateClient();
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/api/events/raw")
        {
            Content = new PushStreamContentOf(Encoding.UTF8.GetBytes(body)),
        };
        chunked.Headers.TransferEncodingChunked = true;
        chunked.Headers.Add("X-Seq-ApiKey", fixture.IngestKey);
        using (var response = await client.SendAsync(chunked))
            response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await fixture.SearchAsync(window)).ShouldBeEmpty();
    }

    sealed class PushStreamContentOf(byte[] bytes) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var i = 0; i < bytes.Length; i += 64 * 1024)
                await stream.WriteAsync(bytes.AsMemory(i, Math.Min(64 * 1024, bytes.Length - i)));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task Without_an_API_key_ingestion_is_refused_and_a_key_without_Ingest_is_forbidden()
    {
        var window = EventServerFixture.NewWindow();
        var line = $$"""{"@t":"{{T(window.AddMinutes(1))}}","@mt":"x"}""";
        using (var response = await fixture.PostClefAsync(line))
            response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var readKey = await EventServerFixture.CreateKeyAsync(fixture.Server.Client, "reader", ["Read"]);
        using (var response = await fixture.PostClefAsync(line, readKey))
            (await TestServer.ReadAsync(response, HttpStatusCode.Forbidden)).GetProperty("Error").GetString()!.ShouldContain("Ingest");
        using (var response = await fixture.PostClefAsync(line, "not-a-real-key-at-all"))
            response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await fixture.SearchAsync(window)).ShouldBeEmpty();

        using (var response = await fixture.PostClefAsync(line, apiKey: null, path: "/api/events/raw?clef&apiKey=" + Uri.EscapeDataString(fixture.IngestKey)))
            response.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await fixture.SearchAsync(window)).Count.ShouldBe(1);

        await fixture.Server.PutJsonAsync("/api/settings/setting-RequireApiKeyForWritingEvents", """{"Value":"false"}""", HttpStatusCode.OK);
        try
        {
            using var anonymous = await fixture.PostClefAsync(line);
            anonymous.StatusCode.ShouldBe(HttpStatusCode.Created);
            (await fixture.SearchAsync(window)).Count.ShouldBe(2);
        }
        finally
        {
            await fixture.Server.PutJsonAsync("/api/settings/setting-RequireApiKeyForWritingEvents", """{"Value":"true"}""", HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task The_keys_input_settings_apply_properties_drop_events_below_the_minimum_level_and_report_it()
    {
        var key = await EventServerFixture.CreateKeyAsync(fixture.Server.Client, "warnings only", ["Ingest"], new
        {
            AppliedProperties = new object[] { new { Name = "Application", Value = "billing" }, new { Name = "Tier", Value = 2 } },
            MinimumLevel = "Warning",
        });
        var window = EventServerFixture.NewWindow();
        var body = string.Join("\n",
            $$"""{"@t":"{{T(window.AddMinutes(1))}}","@mt":"dropped","@l":"Information"}""",
            $$"""{"@t":"{{T(window.AddMinutes(2))}}","@mt":"dropped too"}""",
            $$"""{"@t":"{{T(window.AddMinutes(3))}}","@mt":"kept","@l":"wrn","Application":"overridden"}""",
            $$"""{"@t":"{{T(window.AddMinutes(4))}}","@mt":"kept","@l":"Fatal"}""");
        using var response = await fixture.PostClefAsync(body, key);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await response.Content.ReadAsStringAsync()).ShouldBe("""{"MinimumLevelAccepted":"Warning"}""");

        var stored = await fixture.SearchAsync(window);
        stored.Select(e => e.GetProperty("Level").GetString()).ShouldBe(["Fatal", "Warning"]);
        stored.ShouldAllBe(e => EventServerFixture.Property(e, "Application") == "\"billing\"" && EventServerFixture.Property(e, "Tier") == "\"2\"");
    }

    [Fact]
    public async Task Search_pages_newest_first_with_afterId_and_refuses_a_count_out_of_range()
    {
        var window = EventServerFixture.NewWindow();
        var body = string.Join("\n", Enumerable.Range(0, 7).Select(i => $$"""{"@t":"{{T(window.AddMinutes(i))}}","N":{{i}}}"""));
        using (var response = await fixture.PostClefAsync(body, fixture.IngestKey))
            response.StatusCode.ShouldBe(HttpStatusCode.Created);

        var first = await fixture.SearchAsync(window, count: 3);
        first.Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["6", "5", "4"]);
        var next = await fixture.SearchAsync(window, "&afterId=" + first[^1].GetProperty("Id").GetString(), count: 3);
        next.Select(e => EventServerFixture.Property(e, "N")).ShouldBe(["3", "2", "1"]);

        using (var response = await fixture.Server.Client.GetAsync("/api/events?count=10001"))
            (await TestServer.ReadAsync(response, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("10000");
        using (var response = await fixture.Server.Client.GetAsync("/api/events?afterId=event-zz"))
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using (var response = await fixture.Server.Client.GetAsync("/api/events/event-0000000000000000ffffffffffffffff"))
            response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using (var anonymous = await fixture.Server.CreateClient().GetAsync("/api/events"))
            anonymous.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}

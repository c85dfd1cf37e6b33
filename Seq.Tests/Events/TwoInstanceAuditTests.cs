using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Seq.Api.Hosting;
using Seq.Infrastructure.Auditing;
using Seq.Tests.Support;

namespace Seq.Tests.Events;

/// <summary>
/// The auditing spec's recommended target, built from this server: instance A audits to instance B over HTTP with a
/// key that may only ingest.
/// </summary>
public sealed class TwoInstanceAuditTests
{
    static string Text(JsonElement e, string name) =>
        e.GetProperty("Properties").EnumerateArray().Single(p => p.GetProperty("Name").GetString() == name).GetProperty("Value").ToString();

    static async Task<List<JsonElement>> AuditEventsOnAsync(TestServer b, Func<List<JsonElement>, bool> complete)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            // Ingestion order: the id's second half is the ingestion number.
            var events = (await b.GetJsonAsync("/api/events?count=10000")).EnumerateArray()
                .OrderBy(e => e.GetProperty("Id").GetString()![^16..], StringComparer.Ordinal).ToList();
            if (complete(events))
                return events;
            DateTime.UtcNow.ShouldBeLessThan(deadline, "B did not store the expected audit events in time");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_audits_to_B_in_order_and_with_B_down_As_audited_operations_get_503_while_its_ingestion_still_works()
    {
        await using var b = await TestServer.StartAsync();
        var auditKey = await EventServerFixture.CreateKeyAsync(b.Client, "audit from A", ["Ingest"]);

        var a = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(null, b.Address, auditKey) { },
        });
        try
        {
            (await a.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "instance A" })).StatusCode.ShouldBe(HttpStatusCode.OK);
            var aIngestKey = await EventServerFixture.CreateKeyAsync(a.Client, "A ingest", ["Ingest"]);
            (await a.Client.GetAsync("/api/events?filter=")).StatusCode.ShouldBe(HttpStatusCode.OK);

            var stored = await AuditEventsOnAsync(b, events => events.Any(e => Text(e, "Operation") == "Search"));
            stored.Select(e => long.Parse(Text(e, "SequenceNumber"))).ShouldBe(Enumerable.Range(1, stored.Count).Select(i => (long)i));
            stored.Select(e => Text(e, "AuditSession")).Distinct().ShouldHaveSingleItem();
            stored.ShouldAllBe(e => Text(e, "AuditChain").Length > 0);
            var operations = stored.Select(e => $"{Text(e, "Category")}/{Text(e, "Operation")}/{Text(e, "Event")}").ToList();
            operations.ShouldContain("Setting/Update/Begin");
            operations.IndexOf("Setting/Update/Begin").ShouldBeLessThan(operations.IndexOf("Setting/Update/Complete"));
            operations.IndexOf("Setting/Update/Complete").ShouldBeLessThan(operations.IndexOf("ApiKey/Create/Begin"));
            operations.IndexOf("ApiKey/Create/Complete").ShouldBeLessThan(operations.IndexOf("Event/Search/Advise"));
            stored.ShouldAllBe(e => e.GetProperty("RenderedMessage").GetString()!.Length > 0);

            // Ingestion into A is never audited event by event.
            using (var ingest = a.ApiKeyClient(aIngestKey))
            using (var response = await ingest.PostAsync("/api/events/raw", new StringContent($$"""{"@t":"{{DateTimeOffset.UtcNow:O}}","@mt":"before B stops"}""")))
                response.StatusCode.ShouldBe(HttpStatusCode.Created);

            await b.DisposeAsync();

            using (var refused = await a.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "while B is down" }))
            {
                refused.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
                (await refused.Content.ReadAsStringAsync()).ShouldContain("audit log is unavailable");
            }
            using (var ingest = a.ApiKeyClient(aIngestKey))
            using (var response = await ingest.PostAsync("/api/events/raw", new StringContent($$"""{"@t":"{{DateTimeOffset.UtcNow:O}}","@mt":"while B is down"}""")))
                response.StatusCode.ShouldBe(HttpStatusCode.Created);
        }
        finally
        {
            await a.DisposeAsync();
        }
    }
}

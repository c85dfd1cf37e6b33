using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Seq.Api.Hosting;
using Seq.Application.ApiKeys;
using Seq.Application.Events;
using Seq.Application.Settings;
using Seq.Tests.Credentials;
using Seq.Tests.Support;

namespace Seq.Tests.Events;

/// <summary>
/// What bounds ingestion and what does not (ADR 0041): the timestamps a client may store, the per-address write limit
/// that ingestion is exempt from, and how long a changed setting may take to reach ingestion.
/// </summary>
public sealed class IngestionBoundsTests(EventServerFixture fixture) : IClassFixture<EventServerFixture>
{
    static string T(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'");

    async Task<long> StoredWithProbeAsync(string probe)
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM log_events WHERE properties->>'Probe' = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = probe });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    async Task<bool> PartitionExistsAsync(DateTimeOffset day)
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM pg_class WHERE relname = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = $"log_events_{day.UtcDateTime:yyyyMMdd}" });
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    static string Line(DateTimeOffset at, string probe) => $$"""{"@t":"{{T(at)}}","@mt":"probe","Probe":"{{probe}}"}""";

    [Fact]
    public async Task An_event_more_than_a_day_ahead_of_the_server_clock_is_refused_naming_its_line_and_creates_no_partition()
    {
        var now = DateTimeOffset.UtcNow;
        var probe = Guid.NewGuid().ToString("N");
        var farFuture = now.AddDays(400);
        using (var refused = await fixture.PostClefAsync(Line(now, probe) + "\n" + Line(farFuture, probe), fixture.IngestKey))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await refused.Content.ReadAsStringAsync()).ShouldBe(
                """{"Error":"Payload validation failed: the @t timestamp is more than 1 day ahead of the server clock (line 2)."}""");
        }
        (await StoredWithProbeAsync(probe)).ShouldBe(0);
        (await PartitionExistsAsync(farFuture)).ShouldBeFalse();

        // Less than a day ahead is a client's clock running fast, not a hostile one.
        using var accepted = await fixture.PostClefAsync(Line(now.AddHours(20), probe), fixture.IngestKey);
        accepted.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await StoredWithProbeAsync(probe)).ShouldBe(1);
    }

    [Fact]
    public async Task While_events_are_kept_forever_an_event_before_2000_is_refused_naming_its_line()
    {
        var probe = Guid.NewGuid().ToString("N");
        var before = new DateTimeOffset(1999, 12, 31, 23, 59, 59, TimeSpan.Zero);
        using (var refused = await fixture.PostClefAsync(Line(before, probe), fixture.IngestKey))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await refused.Content.ReadAsStringAsync()).ShouldBe(
                """{"Error":"Payload validation failed: the @t timestamp is before 2000-01-01, the earliest stored while setting EventRetentionDays keeps events forever (line 1)."}""");
        }
        (await PartitionExistsAsync(before)).ShouldBeFalse();

        using var accepted = await fixture.PostClefAsync(Line(before.AddSeconds(1), probe), fixture.IngestKey);
        accepted.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await StoredWithProbeAsync(probe)).ShouldBe(1);
    }

    [Fact]
    public async Task With_a_retention_setting_events_older_than_its_window_are_taken_but_not_stored_and_create_no_partition()
    {
        var now = DateTimeOffset.UtcNow;
        var probe = Guid.NewGuid().ToString("N");
        var expired = now.AddDays(-10);
        await fixture.Server.PutJsonAsync("/api/settings/setting-EventRetentionDays", """{"Value":"3"}""", HttpStatusCode.OK);
        try
        {
            using var response = await fixture.PostClefAsync(Line(expired, probe) + "\n" + Line(now.AddDays(-2), probe) + "\n" + Line(now, probe), fixture.IngestKey);
            response.StatusCode.ShouldBe(HttpStatusCode.Created);
            (await StoredWithProbeAsync(probe)).ShouldBe(2);
            (await PartitionExistsAsync(expired)).ShouldBeFalse();
        }
        finally
        {
            await fixture.Server.PutJsonAsync("/api/settings/setting-EventRetentionDays", """{"Value":"0"}""", HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task A_key_that_uses_server_timestamps_may_send_any_timestamp()
    {
        var key = await EventServerFixture.CreateKeyAsync(fixture.Server.Client, "server clock", ["Ingest"], new { UseServerTimestamps = true });
        var probe = Guid.NewGuid().ToString("N");
        using var response = await fixture.PostClefAsync(Line(new DateTimeOffset(1990, 1, 1, 0, 0, 0, TimeSpan.Zero), probe), key);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await StoredWithProbeAsync(probe)).ShouldBe(1);
    }

    [Fact]
    public async Task Ingestion_is_not_held_to_the_per_address_write_limit_that_still_applies_to_other_writes()
    {
        await using var server = await TestServer.StartAsync(o => o with { Limits = RequestLimits.Default with { WritesPerSecondPerAddress = 1, WriteBurstPerAddress = 3 } });
        var key = await EventServerFixture.CreateKeyAsync(server.Client, "ingest", ["Ingest"]);
        using var client = server.ApiKeyClient(key);
        var now = DateTimeOffset.UtcNow;
        // Sent at once, so that the bucket (3 tokens, 1 a second) could not have let them through however slow the machine.
        var ingested = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await client.PostAsync(i % 2 == 0 ? "/api/events/raw" : "/ingest/clef", new StringContent(Line(now, "burst")));
            return response.StatusCode;
        }));
        ingested.ShouldAllBe(status => status == HttpStatusCode.Created);

        // The limit is in force: the administrator's writes from the same address, sent at once, run out of tokens.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            using var content = new StringContent("""{"Value":"0"}""", System.Text.Encoding.UTF8, "application/json");
            using var response = await server.Client.PutAsync("/api/settings/setting-EventRetentionDays", content);
            return response.StatusCode;
        }));
        statuses.ShouldContain(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task A_setting_changed_by_another_node_reaches_ingestion_once_the_cache_lifetime_has_passed_and_a_local_change_at_once()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var services = fixture.Server.Services;
        var configuration = new IngestionConfiguration(services.GetRequiredService<ISettingsReadModel>(), services.GetRequiredService<IApiKeyReadModel>(), clock);
        IngestionConfiguration.Lifetime.ShouldBeLessThan(TimeSpan.FromSeconds(1), "ADR 0039: a change holds on every node within a second");
        (await configuration.GetChangedSettingsAsync(CancellationToken.None)).ContainsKey("RawEventMaximumContentLength").ShouldBeFalse();

        // Another node's change: committed to the table, with nothing said to this node's cache.
        await using var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        await using (var change = dataSource.CreateCommand("INSERT INTO settings (name, value, updated) VALUES ('RawEventMaximumContentLength', '99999', now())"))
            await change.ExecuteNonQueryAsync();
        try
        {
            (await configuration.GetChangedSettingsAsync(CancellationToken.None)).ContainsKey("RawEventMaximumContentLength").ShouldBeFalse();
            clock.Advance(IngestionConfiguration.Lifetime);
            (await configuration.GetChangedSettingsAsync(CancellationToken.None))["RawEventMaximumContentLength"].ShouldBe("99999");
        }
        finally
        {
            await using var undo = dataSource.CreateCommand("DELETE FROM settings WHERE name = 'RawEventMaximumContentLength'");
            await undo.ExecuteNonQueryAsync();
        }
        (await configuration.GetChangedSettingsAsync(CancellationToken.None)).ContainsKey("RawEventMaximumContentLength").ShouldBeTrue("still cached");
        configuration.Invalidate();
        (await configuration.GetChangedSettingsAsync(CancellationToken.None)).ContainsKey("RawEventMaximumContentLength").ShouldBeFalse();
    }
}

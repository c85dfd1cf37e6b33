using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Seq.Infrastructure.Events;
using Seq.Tests.Support;

namespace Seq.Tests.Events;

public sealed class RetentionTests : IAsyncLifetime
{
    TestServer _server = null!;
    string _key = null!;

    public async Task InitializeAsync()
    {
        // The background pass is off, so that each pass in these tests is the one the test runs.
        _server = await TestServer.StartAsync(o => o with { ConfigureServices = s => s.AddSingleton(new EventRetentionOptions(Timeout.InfiniteTimeSpan)) });
        _key = await EventServerFixture.CreateKeyAsync(_server.Client, "ingest", ["Ingest"]);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    async Task IngestAsync(params DateTimeOffset[] timestamps)
    {
        using var client = _server.ApiKeyClient(_key);
        var body = string.Join("\n", timestamps.Select(t => $$"""{"@t":"{{t:O}}","@mt":"at {When}","When":"{{t:O}}"}"""));
        using var response = await client.PostAsync("/api/events/raw", new StringContent(body));
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    async Task<List<DateTimeOffset>> StoredAsync() =>
        [.. (await _server.GetJsonAsync("/api/events?count=100")).EnumerateArray().Select(e => DateTimeOffset.Parse(e.GetProperty("Timestamp").GetString()!))];

    [Fact]
    public async Task A_pass_drops_whole_day_partitions_older_than_the_setting_and_keeps_the_rest()
    {
        var now = DateTimeOffset.UtcNow;
        var old = now.AddDays(-10);
        var recent = now.AddDays(-3);
        await IngestAsync(old, old.AddMinutes(1), recent, now);
        var retention = _server.Services.GetRequiredService<EventRetention>();

        (await retention.RunOnceAsync(CancellationToken.None)).Dropped.ShouldBeEmpty("0 days keeps everything");
        (await StoredAsync()).Count.ShouldBe(4);

        await _server.PutJsonAsync("/api/settings/setting-EventRetentionDays", """{"Value":"5"}""", HttpStatusCode.OK);
        var pass = await retention.RunOnceAsync(CancellationToken.None);
        pass.Ran.ShouldBeTrue();
        pass.Dropped.ShouldBe([$"log_events_{old.UtcDateTime:yyyyMMdd}"]);
        (await StoredAsync()).ShouldBe(new[] { now, recent }.Select(t => new DateTimeOffset(t.UtcTicks - t.UtcTicks % 10, TimeSpan.Zero)));

        // While the day is outside the window, a late event for it is taken but not stored (ADR 0041).
        await IngestAsync(old);
        (await StoredAsync()).Count.ShouldBe(2);

        // Kept forever again, a late event for the dropped day recreates its partition (this node still thought it existed).
        await _server.PutJsonAsync("/api/settings/setting-EventRetentionDays", """{"Value":"0"}""", HttpStatusCode.OK);
        await IngestAsync(old);
        (await StoredAsync()).Count.ShouldBe(3);
    }

    [Fact]
    public async Task A_node_skips_its_pass_while_another_node_holds_the_retention_lock()
    {
        var old = DateTimeOffset.UtcNow.AddDays(-40);
        await IngestAsync(old);
        await _server.PutJsonAsync("/api/settings/setting-EventRetentionDays", """{"Value":"30"}""", HttpStatusCode.OK);
        var retention = _server.Services.GetRequiredService<EventRetention>();

        await using (var otherNode = new NpgsqlConnection(_server.ConnectionString))
        {
            await otherNode.OpenAsync();
            await using var transaction = await otherNode.BeginTransactionAsync();
            await using var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", otherNode, transaction);
            take.Parameters.Add(new NpgsqlParameter { Value = EventRetention.LockId });
            await take.ExecuteNonQueryAsync();

            (await retention.RunOnceAsync(CancellationToken.None)).ShouldBe(new RetentionPass(false, []));
            (await StoredAsync()).Count.ShouldBe(1);
        }

        (await retention.RunOnceAsync(CancellationToken.None)).Dropped.Count.ShouldBe(1);
        (await StoredAsync()).ShouldBeEmpty();
    }
}

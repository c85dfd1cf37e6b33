using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Seq.Tests.Support;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Seq.Tests.Events;

/// <summary>Serilog.Sinks.Seq 9.1.0, unmodified, as a client of our ingestion endpoint.</summary>
public sealed class SerilogSinkTests : IAsyncLifetime
{
    readonly TestPaths _paths = new();
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

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

    sealed class Capture : ILogEventSink
    {
        public ConcurrentQueue<LogEvent> Events { get; } = new();
        public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);
    }

    static async Task<List<JsonElement>> AllEventsAsync(TestServer server)
    {
        var all = new List<JsonElement>();
        string? afterId = null;
        while (true)
        {
            var page = await server.GetJsonAsync("/api/events?count=5000" + (afterId is null ? "" : "&afterId=" + afterId));
            var events = page.EnumerateArray().ToList();
            all.AddRange(events);
            if (events.Count < 5000)
                return all;
            afterId = events[^1].GetProperty("Id").GetString();
        }
    }

    static async Task<List<JsonElement>> PollForAsync(TestServer server, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var all = await AllEventsAsync(server);
            if (all.Count >= count)
                return all;
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"only {all.Count} of {count} events arrived");
            await Task.Delay(100);
        }
    }

    static int OrderId(JsonElement e) => int.Parse(EventServerFixture.Property(e, "OrderId"));

    [Fact]
    public async Task Ten_thousand_events_from_the_Serilog_sink_are_each_stored_once_and_equal_to_what_was_logged()
    {
        var key = await EventServerFixture.CreateKeyAsync(_server.Client, "serilog", ["Ingest"]);
        var capture = new Capture();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose()
                   .WriteTo.Sink(capture)
                   .WriteTo.Seq(_server.Address.ToString(), apiKey: key, period: TimeSpan.FromMilliseconds(100))
                   .CreateLogger())
        {
            for (var i = 0; i < 10_000; i++)
            {
                using var activity = i % 3 == 0 ? new Activity("order").Start() : null;
                var log = logger.ForContext("Customer", new { Name = $"customer {i % 17}", Vip = i % 2 == 0 }, destructureObjects: true);
                if (i % 10 == 0)
                    log.Error(new InvalidOperationException($"order {i} failed"), "Order {OrderId} failed after {Elapsed:0.00} ms", i, i * 1.25);
                else
                    log.Information("Order {OrderId} placed with {Items} items", i, new[] { "a", $"b{i}" });
            }
        }

        var stored = await PollForAsync(_server, 10_000);
        stored.Count.ShouldBe(10_000);
        var byOrder = stored.GroupBy(OrderId).ToDictionary(g => g.Key, g => g.ShouldHaveSingleItem());
        byOrder.Keys.Order().ShouldBe(Enumerable.Range(0, 10_000));

        foreach (var logged in capture.Events)
        {
            var orderId = (int)((ScalarValue)logged.Properties["OrderId"]).Value!;
            var e = byOrder[orderId];
            var at = logged.Timestamp.UtcDateTime;
            DateTimeOffset.Parse(e.GetProperty("Timestamp").GetString()!).ShouldBe(new DateTimeOffset(at.Ticks - at.Ticks % 10, TimeSpan.Zero));
            e.GetProperty("Level").GetString().ShouldBe(logged.Level.ToString());
            e.GetProperty("MessageTemplate").GetString().ShouldBe(logged.MessageTemplate.Text);
            e.GetProperty("RenderedMessage").GetString().ShouldBe(logged.RenderMessage());
            (e.TryGetProperty("Exception", out var x) && x.ValueKind == JsonValueKind.String ? x.GetString() : null).ShouldBe(logged.Exception?.ToString());
            (e.TryGetProperty("TraceId", out var tr) && tr.ValueKind == JsonValueKind.String ? tr.GetString() : null).ShouldBe(logged.TraceId?.ToHexString());
            (e.TryGetProperty("SpanId", out var sp) && sp.ValueKind == JsonValueKind.String ? sp.GetString() : null).ShouldBe(logged.SpanId?.ToHexString());
            var customer = JsonDocument.Parse(EventServerFixture.Property(e, "Customer")).RootElement;
            customer.GetProperty("Name").GetString().ShouldBe($"customer {orderId % 17}");
            customer.GetProperty("Vip").GetBoolean().ShouldBe(orderId % 2 == 0);
            if (orderId % 10 != 0)
                EventServerFixture.Property(e, "Items").ShouldBe($"[\"a\",\"b{orderId}\"]");
        }
        capture.Events.Count.ShouldBe(10_000);
    }

    [Fact]
    public async Task The_sinks_durable_buffer_delivers_everything_exactly_once_across_a_server_restart()
    {
        var key = await EventServerFixture.CreateKeyAsync(_server.Client, "durable", ["Ingest"]);
        var buffer = Path.Combine(Directory.CreateDirectory(_paths.New("seq-buffer")).FullName, "buffer");
        var address = _server.Address;
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose()
            .WriteTo.Seq(address.ToString(), apiKey: key, bufferBaseFilename: buffer, period: TimeSpan.FromMilliseconds(100))
            .CreateLogger();

        for (var i = 0; i < 500; i++)
            logger.Information("Order {OrderId} before the restart", i);
        await PollForAsync(_server, 500);

        var connectionString = _server.ConnectionString;
        var secretKey = _server.Options.SecretKey;
        await _server.DisposeAsync();
        for (var i = 500; i < 1000; i++)
            logger.Information("Order {OrderId} while the server is down", i);

        _server = await TestServer.StartAsync(o => o with { ListenUris = [address.ToString().TrimEnd('/')], SecretKey = secretKey }, connectionString: connectionString);
        for (var i = 1000; i < 1500; i++)
            logger.Information("Order {OrderId} after the restart", i);

        await PollForAsync(_server, 1500);
        // The buffer ships in order: once a last event is in, anything sent twice before it would be in too.
        logger.Information("Order {OrderId} closes the run", 1500);
        var stored = await PollForAsync(_server, 1501);
        stored.Select(OrderId).Order().ShouldBe(Enumerable.Range(0, 1501));
    }
}

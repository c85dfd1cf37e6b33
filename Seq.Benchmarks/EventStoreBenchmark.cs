using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Application.EventSourcing;
using Seq.Domain;
using Seq.Infrastructure;
using Seq.Infrastructure.EventSourcing;

namespace Seq.Benchmarks;

/// <summary>
/// Issue 2's targets, measured in one process against one PostgreSQL: concurrent appends beside a raw-Npgsql
/// baseline at the same concurrency, single-writer latency, and a deserialized catch-up read of the global feed.
/// </summary>
sealed class EventStoreBenchmark(string connectionString, TimeSpan phase, int writers, int rounds, int feedEvents)
{
    public async Task<IReadOnlyList<string>> RunAsync()
    {
        var report = new List<string>();
        await using var dataSource = DependencyInjection.CreateDataSource(connectionString);
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(default);
        await ExecuteAsync(dataSource, BenchTotalsProjection.CreateTable);
        await ExecuteAsync(dataSource, "CREATE TABLE IF NOT EXISTS bench_baseline (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text NOT NULL, payload jsonb NOT NULL)");

        var serializer = new EventSerializer(EventTypeRegistry.ForDomain(typeof(BenchCounterIncremented).Assembly));
        var store = new PostgresEventStore(dataSource, serializer, [new BenchTotalsProjection()], new OperationContext(), TimeProvider.System, []);

        // Warm up both paths (connections, prepared statements, JIT) before anything is timed.
        await BaselineAsync(dataSource, TimeSpan.FromSeconds(2));
        await AppendsAsync(store, TimeSpan.FromSeconds(2));

        var baselineRates = new List<double>();
        var appendRates = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            // Interleaved so that the machine's noise falls on both sides alike.
            baselineRates.Add(await BaselineAsync(dataSource, phase));
            appendRates.Add(await AppendsAsync(store, phase));
            Console.WriteLine($"round {round}: baseline {baselineRates[^1]:F0}/s, appends {appendRates[^1]:F0}/s");
        }

        var baseline = Median(baselineRates);
        var appends = Median(appendRates);
        report.Add($"| {writers} concurrent writers, raw Npgsql baseline (1 row per transaction) | {baseline:F0} tx/s | median of {rounds} rounds of {phase.TotalSeconds:F0} s |");
        report.Add($"| {writers} concurrent writers, 1-event appends + inline projection, distinct streams | {appends:F0} appends/s | {appends / baseline:P0} of baseline (target ≥ 6,000/s and ≥ 40%) |");

        var latencies = await SingleWriterLatenciesAsync(store, 3000);
        report.Add($"| 1 writer, 1-event append + inline projection, latency | p50 {Percentile(latencies, 0.50):F3} ms, p95 {Percentile(latencies, 0.95):F3} ms, p99 {Percentile(latencies, 0.99):F3} ms | {latencies.Length} appends (target p50 ≤ 0.8 ms) |");

        var (events, seconds) = await CatchUpAsync(dataSource, store, serializer);
        report.Add($"| Catch-up read of the global feed, deserialized | {events / seconds:F0} events/s | {events} events in {seconds:F2} s (target ≥ 150,000/s) |");
        return report;
    }

    async Task<double> BaselineAsync(NpgsqlDataSource dataSource, TimeSpan duration)
    {
        var payload = """{"CounterId": "baseline", "Amount": 1, "Note": "a row of about the size of a small event"}""";
        return await RunWritersAsync(duration, async (writer, cancellationToken) =>
        {
            var stream = $"baseline-{writer}";
            var count = 0L;
            while (!cancellationToken.IsCancellationRequested)
            {
                await using var command = dataSource.CreateCommand("INSERT INTO bench_baseline (stream_id, payload) VALUES ($1, $2::jsonb)");
                command.Parameters.Add(new NpgsqlParameter { Value = stream });
                command.Parameters.Add(new NpgsqlParameter { Value = payload });
                await command.ExecuteNonQueryAsync(CancellationToken.None);
                count++;
            }
            return count;
        });
    }

    async Task<double> AppendsAsync(PostgresEventStore store, TimeSpan duration)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        return await RunWritersAsync(duration, async (writer, cancellationToken) =>
        {
            var stream = $"bench-{run}-{writer}";
            var version = 0L;
            var events = new IDomainEvent[] { new BenchCounterIncremented(stream, 1, "a row of about the size of a small event") };
            while (!cancellationToken.IsCancellationRequested)
                version = await store.AppendAsync(stream, "BenchCounter", version, events, CancellationToken.None);
            return version;
        });
    }

    async Task<double> RunWritersAsync(TimeSpan duration, Func<int, CancellationToken, Task<long>> writer)
    {
        using var stop = new CancellationTokenSource();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() => writer(w, stop.Token))).ToArray();
        stop.CancelAfter(duration);
        var counts = await Task.WhenAll(tasks);
        var elapsed = clock.Elapsed.TotalSeconds;
        process.Refresh();
        var total = counts.Sum();
        Console.WriteLine($"  client CPU {(process.TotalProcessorTime - cpuBefore).TotalMilliseconds * 1000 / total:F0} µs per operation ({(process.TotalProcessorTime - cpuBefore).TotalSeconds / elapsed / Environment.ProcessorCount:P0} of the machine)");
        return total / elapsed;
    }

    static async Task<double[]> SingleWriterLatenciesAsync(PostgresEventStore store, int count)
    {
        var stream = "latency-" + Guid.NewGuid().ToString("N");
        var events = new IDomainEvent[] { new BenchCounterIncremented(stream, 1, "a row of about the size of a small event") };
        var version = 0L;
        for (var i = 0; i < 200; i++)
            version = await store.AppendAsync(stream, "BenchCounter", version, events, default);

        var latencies = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            version = await store.AppendAsync(stream, "BenchCounter", version, events, default);
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        Array.Sort(latencies);
        return latencies;
    }

    async Task<(long Events, double Seconds)> CatchUpAsync(NpgsqlDataSource dataSource, PostgresEventStore store, EventSerializer serializer)
    {
        var existing = await ScalarAsync(dataSource, "SELECT count(*) FROM events");
        var stream = "feed-" + Guid.NewGuid().ToString("N");
        var version = 0L;
        const int perAppend = 500;
        for (var written = existing; written < feedEvents; written += perAppend)
        {
            var events = Enumerable.Range(0, perAppend).Select(i => (IDomainEvent)new BenchCounterIncremented(stream, i, "a row of about the size of a small event")).ToArray();
            version = await store.AppendAsync(stream, "BenchCounter", version, events, default);
        }

        var feed = new GlobalFeed(dataSource, serializer);
        await foreach (var _ in feed.ReadAllAsync(FeedPosition.Start, default).Take(20_000)) { }

        var clock = Stopwatch.StartNew();
        var read = 0L;
        var checksum = 0L;
        await foreach (var recorded in feed.ReadAllAsync(FeedPosition.Start, default, pageSize: 5000))
        {
            read++;
            if (recorded.Data is BenchCounterIncremented e)
                checksum += e.Amount;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"catch-up read {read} events (checksum {checksum}) in {seconds:F2} s");
        return (read, seconds);
    }

    static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    static double Median(List<double> values) => Percentile([.. values.Order()], 0.5);

    static double Percentile(double[] sorted, double p) => sorted[(int)Math.Min(sorted.Length - 1, Math.Round(p * (sorted.Length - 1)))];
}

using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Application.Pipeline;
using Seq.Domain;
using Seq.Infrastructure;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using JasperFx.Events;

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
        await ExecuteAsync(dataSource, BenchTotalsSqlProjection.CreateTable);
        await ExecuteAsync(dataSource, "CREATE TABLE IF NOT EXISTS bench_baseline (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text NOT NULL, payload jsonb NOT NULL)");

        var serializer = new EventSerializer(EventTypeRegistry.ForDomain(typeof(BenchCounterIncremented).Assembly));
        var store = new PostgresEventStore(dataSource, serializer, [new BenchTotalsProjection()], new OperationContext(), TimeProvider.System, []);

        // Marten as a peer (ADR 0001): each configuration in a schema of its own, with an inline projection of the
        // same read model (a running total per stream).
        await using var martenRich = MartenPeer.Create("Marten default (rich) + inline document projection", connectionString, "marten_rich", EventAppendMode.Rich, MartenPeer.Projection.Document);
        await using var martenQuick = MartenPeer.Create("Marten quick-append + inline document projection", connectionString, "marten_quick", EventAppendMode.Quick, MartenPeer.Projection.Document);
        await using var martenQuickSql = MartenPeer.Create("Marten quick-append + inline QueueSqlCommand upsert (plain table)", connectionString, "marten_quicksql", EventAppendMode.Quick, MartenPeer.Projection.SqlUpsert);
        MartenPeer[] martens = [martenRich, martenQuick, martenQuickSql];
        foreach (var marten in martens)
            await marten.ApplySchemaAsync();

        var sides = new List<AppendSide>
        {
            new("raw INSERT (1 row per transaction)", null),
            new("this store (1-event append + inline projection)", (stream, version, e) => store.AppendAsync(stream, "BenchCounter", version, [e], CancellationToken.None)),
        };
        sides.AddRange(martens.Select(m => new AppendSide(m.Name, m.AppendAsync)));

        // Warm up every path (connection pools, JIT, prepared statements) before anything is timed. The server's
        // data source prepares nothing by itself (MaxAutoPrepare = 0, ADR 0014).
        foreach (var side in sides)
            await RateAsync(dataSource, side, TimeSpan.FromSeconds(2));

        for (var round = 1; round <= rounds; round++)
        {
            // Interleaved, the order reversed every other round, so that the machine's noise and any drift within a
            // round (table growth, autovacuum) fall on every side alike.
            foreach (var side in round % 2 == 1 ? sides : Enumerable.Reverse(sides))
            {
                side.Rates.Add(await RateAsync(dataSource, side, phase));
                Console.WriteLine($"round {round}, {side.Name}: {side.Rates[^1]:F0}/s");
            }
        }

        var (baseline, ours) = (sides[0], sides[1]);
        string Shares(AppendSide side, AppendSide of) =>
            string.Join(", ", side.Rates.Zip(of.Rates, (a, b) => (a / b).ToString("P0", System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var side in sides)
        {
            var ofBaseline = Median([.. side.Rates.Zip(baseline.Rates, (a, b) => a / b)]);
            var ofOurs = Median([.. side.Rates.Zip(ours.Rates, (a, b) => a / b)]);
            report.Add($"| {writers} writers, distinct streams: {side.Name} | {Median(side.Rates):F0}/s | **{ofBaseline:P0}** of raw INSERT (rounds {Shares(side, baseline)}); {ofOurs:P0} of this store (rounds {Shares(side, ours)}) |");
        }

        foreach (var side in sides.Skip(1))
        {
            var latencies = await SingleWriterLatenciesAsync(side, 2000);
            report.Add($"| 1 writer, 1-event append latency: {side.Name} | p50 {Percentile(latencies, 0.50):F3} ms, p95 {Percentile(latencies, 0.95):F3} ms, p99 {Percentile(latencies, 0.99):F3} ms | {latencies.Length} appends after 200 unmeasured; p50 {Percentile(latencies, 0.50) / ours.LatencyP50:F2}× this store's |");
        }

        report.AddRange(await FirstAppendsAsync(dataSource, serializer));
        report.AddRange(await RacesAsync(dataSource, store, martens, races: 200));

        var (events, seconds) = await CatchUpAsync(dataSource, store, serializer);
        report.Add($"| Catch-up read of the global feed, deserialized (this store) | {events / seconds:F0} events/s | {events} events in {seconds:F2} s (target ≥ 150,000/s) |");
        return report;
    }

    delegate Task<long> AppendOne(string stream, long version, BenchCounterIncremented e);

    /// <summary>A way to write: raw INSERT when <paramref name="Append"/> is null, else a store's 1-event append.</summary>
    sealed record AppendSide(string Name, AppendOne? Append)
    {
        public List<double> Rates { get; } = [];
        public double LatencyP50 { get; set; }
    }

    Task<double> RateAsync(NpgsqlDataSource dataSource, AppendSide side, TimeSpan duration) =>
        side.Append is { } append ? AppendsAsync(append, duration) : BaselineAsync(dataSource, duration);

    async Task<double> AppendsAsync(AppendOne append, TimeSpan duration)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        return await RunWritersAsync(duration, async (writer, cancellationToken) =>
        {
            var stream = $"bench-{run}-{writer}";
            var version = 0L;
            var e = new BenchCounterIncremented(stream, 1, "a row of about the size of a small event");
            while (!cancellationToken.IsCancellationRequested)
                version = await append(stream, version, e);
            return version;
        });
    }

    Task<double> AppendsAsync(PostgresEventStore store, TimeSpan duration) =>
        AppendsAsync((stream, version, e) => store.AppendAsync(stream, "BenchCounter", version, [e], CancellationToken.None), duration);

    static async Task<double[]> SingleWriterLatenciesAsync(AppendSide side, int count)
    {
        var stream = "latency-" + Guid.NewGuid().ToString("N");
        var e = new BenchCounterIncremented(stream, 1, "a row of about the size of a small event");
        var version = 0L;
        for (var i = 0; i < 200; i++)
            version = await side.Append!(stream, version, e);

        var latencies = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            version = await side.Append!(stream, version, e);
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        Array.Sort(latencies);
        side.LatencyP50 = Percentile(latencies, 0.5);
        return latencies;
    }

    /// <summary>
    /// From a database created for the purpose: the schema set-up, then the first and second append of a new data
    /// source or document store (cold connections, nothing prepared). The process is warm (JIT) by then, for all alike.
    /// Marten is also measured without applying its schema first, as it behaves out of the box (AutoCreate).
    /// </summary>
    async Task<IReadOnlyList<string>> FirstAppendsAsync(NpgsqlDataSource admin, EventSerializer serializer)
    {
        var rows = new List<string>();
        async Task<string> FreshDatabaseAsync()
        {
            var name = "bench_fresh_" + Guid.NewGuid().ToString("N")[..8];
            await ExecuteAsync(admin, $"CREATE DATABASE {name}");
            return new NpgsqlConnectionStringBuilder(connectionString) { Database = name }.ConnectionString;
        }
        var e = new BenchCounterIncremented("first", 1, "a row of about the size of a small event");
        string Ms(TimeSpan elapsed) => $"{elapsed.TotalMilliseconds:F1} ms";

        {
            var fresh = await FreshDatabaseAsync();
            await using var dataSource = DependencyInjection.CreateDataSource(fresh);
            var clock = Stopwatch.StartNew();
            await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(default);
            await ExecuteAsync(dataSource, BenchTotalsProjection.CreateTable);
            var schema = clock.Elapsed;
            var store = new PostgresEventStore(dataSource, serializer, [new BenchTotalsProjection()], new OperationContext(), TimeProvider.System, []);
            clock.Restart();
            await store.AppendAsync("first", "BenchCounter", 0, [e], default);
            var first = clock.Elapsed;
            clock.Restart();
            await store.AppendAsync("first", "BenchCounter", 1, [e], default);
            rows.Add($"| Fresh database: this store | schema {Ms(schema)}; first append {Ms(first)}; second {Ms(clock.Elapsed)} | schema = SchemaMigrator + the projection's table |");
        }

        foreach (var (name, mode, projection, applyFirst) in new[]
                 {
                     ("Marten default (rich) + document projection", EventAppendMode.Rich, MartenPeer.Projection.Document, true),
                     ("Marten quick-append + document projection", EventAppendMode.Quick, MartenPeer.Projection.Document, true),
                     ("Marten default (rich), schema created by the first append (AutoCreate)", EventAppendMode.Rich, MartenPeer.Projection.Document, false),
                 })
        {
            var fresh = await FreshDatabaseAsync();
            await using var marten = MartenPeer.Create(name, fresh, "marten", mode, projection);
            var clock = Stopwatch.StartNew();
            if (applyFirst)
                await marten.ApplySchemaAsync();
            var schema = clock.Elapsed;
            clock.Restart();
            await marten.AppendAsync("first", 0, e);
            var first = clock.Elapsed;
            clock.Restart();
            await marten.AppendAsync("first", 1, e);
            rows.Add($"| Fresh database: {name} | {(applyFirst ? $"schema {Ms(schema)}; " : "")}first append {Ms(first)}; second {Ms(clock.Elapsed)} | {(applyFirst ? "schema = ApplyAllConfiguredChangesToDatabaseAsync" : "no schema step before the first append")} |");
        }
        return rows;
    }

    /// <summary>
    /// <paramref name="races"/> times: a stream with one event, then two writers append to it at once with the same
    /// expected version; one must lose. Afterwards: how far the event sequence advanced, how many events were kept,
    /// and what else was written, to see whether a lost race burns a sequence number (a gap in the global order).
    /// </summary>
    async Task<IReadOnlyList<string>> RacesAsync(NpgsqlDataSource dataSource, PostgresEventStore store, MartenPeer[] martens, int races)
    {
        var rows = new List<string>();
        var e = new BenchCounterIncremented("race", 1, "a row of about the size of a small event");
        var contenders = new List<(string Name, AppendOne Append, string Sequence, string Table)>
        {
            ("this store", (stream, version, ev) => store.AppendAsync(stream, "BenchCounter", version, [ev], CancellationToken.None), "pg_get_serial_sequence('events', 'seq')", "events"),
        };
        contenders.AddRange(martens.Take(2).Select(m => (m.Name, (AppendOne)m.AppendAsync, $"'{m.Schema}.mt_events_sequence'", $"{m.Schema}.mt_events")));

        foreach (var (name, append, sequence, table) in contenders)
        {
            async Task<(long Sequence, long Rows)> MeasureAsync() =>
                (await ScalarAsync(dataSource, $"SELECT coalesce(pg_sequence_last_value({sequence}::regclass), 0)"), await ScalarAsync(dataSource, $"SELECT count(*) FROM {table}"));

            var before = await MeasureAsync();
            var (wins, losses) = (0, 0);
            var lossTypes = new HashSet<string>();
            var run = Guid.NewGuid().ToString("N")[..8];
            for (var race = 0; race < races; race++)
            {
                var stream = $"race-{run}-{race}";
                await append(stream, 0, e);
                var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var contenderTasks = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
                {
                    await start.Task;
                    try
                    {
                        await append(stream, 1, e);
                        return (string?)null;
                    }
                    catch (Exception failure)
                    {
                        return failure.GetType().Name;
                    }
                })).ToArray();
                start.SetResult();
                foreach (var outcome in await Task.WhenAll(contenderTasks))
                {
                    if (outcome is null)
                        wins++;
                    else
                    {
                        losses++;
                        lossTypes.Add(outcome);
                    }
                }
            }
            var after = await MeasureAsync();
            var kept = races + wins;
            var used = after.Sequence - before.Sequence;
            var extraRows = after.Rows - before.Rows - kept;
            rows.Add($"| {races} lost races: {name} | {used - (after.Rows - before.Rows)} sequence numbers burned | {wins} wins, {losses} losses ({string.Join(", ", lossTypes)}); sequence advanced {used} for {kept} events kept; {extraRows} other rows written to {table} |");
        }
        return rows;
    }

    /// <summary>
    /// What automatic preparation would save: the same appends, raw inserts, single-writer latency and login-throttle
    /// statements on two data sources in one process, the server's (MaxAutoPrepare 0, ADR 0014) and one with
    /// MaxAutoPrepare 50 (what the server used before), interleaved round by round with the order alternating.
    /// </summary>
    public async Task<IReadOnlyList<string>> CompareAutoPrepareAsync()
    {
        await using var unprepared = DependencyInjection.CreateDataSource(connectionString);
        await using var prepared = DependencyInjection.CreateDataSource(connectionString, maxAutoPrepare: 50);
        await new SchemaMigrator(unprepared, NullLogger<SchemaMigrator>.Instance).MigrateAsync(default);
        await ExecuteAsync(unprepared, BenchTotalsProjection.CreateTable);
        await ExecuteAsync(unprepared, "CREATE TABLE IF NOT EXISTS bench_baseline (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text NOT NULL, payload jsonb NOT NULL)");

        var serializer = new EventSerializer(EventTypeRegistry.ForDomain(typeof(BenchCounterIncremented).Assembly));
        var throttleOptions = new LoginThrottleOptions(AccountFreeFailures: 1_000_000, AddressFreeFailures: 1_000_000);
        var sides = new[] { ("MaxAutoPrepare 0", unprepared), ("MaxAutoPrepare 50", prepared) }
            .Select(s => new PrepareSide(s.Item1, s.Item2,
                new PostgresEventStore(s.Item2, serializer, [new BenchTotalsProjection()], new OperationContext(), TimeProvider.System, []),
                new LoginThrottle(s.Item2, TimeProvider.System, throttleOptions)))
            .ToArray();

        // Warm-up: connections, JIT, and on the prepared side the statements themselves (prepared on their 5th use).
        foreach (var side in sides)
        {
            await BaselineAsync(side.DataSource, TimeSpan.FromSeconds(2));
            await AppendsAsync(side.Store, TimeSpan.FromSeconds(2));
            await ThrottleAsync(side, TimeSpan.FromSeconds(2));
            await SingleWriterLatenciesAsync(side.Store, 200);
        }

        // The check that the two sides differ as intended: statements prepared on one pooled connection of each.
        foreach (var side in sides)
            Console.WriteLine($"{side.Name}: {await ScalarAsync(side.DataSource, "SELECT count(*) FROM pg_prepared_statements")} statements prepared on a pooled connection after the warm-up");

        for (var round = 1; round <= rounds; round++)
        {
            // Interleaved, and the side that goes first alternates, so that the machine's noise and any drift
            // within a round (table growth, autovacuum) fall on both sides alike.
            foreach (var side in round % 2 == 1 ? sides : sides.Reverse())
            {
                Console.WriteLine($"round {round}, {side.Name}:");
                side.Baseline.Add(await BaselineAsync(side.DataSource, phase));
                side.Appends.Add(await AppendsAsync(side.Store, phase));
                side.LatencyP50.Add(Percentile(await SingleWriterLatenciesAsync(side.Store, 1000), 0.5));
                side.ThrottleRates.Add(await ThrottleAsync(side, phase));
                Console.WriteLine($"  baseline {side.Baseline[^1]:F0}/s, appends {side.Appends[^1]:F0}/s, 1-writer p50 {side.LatencyP50[^1]:F3} ms, throttle {side.ThrottleRates[^1]:F0} logins/s");
            }
        }

        var (off, on) = (sides[0], sides[1]);
        string Ratios(Func<PrepareSide, List<double>> of) =>
            string.Join(", ", of(off).Zip(of(on), (a, b) => (a / b).ToString("P0", System.Globalization.CultureInfo.InvariantCulture)));
        var rows = new List<string>();
        void Row(string name, Func<PrepareSide, List<double>> of, string unit, string format)
        {
            var ratios = of(off).Zip(of(on), (a, b) => a / b).ToList();
            rows.Add($"| {name} | {Median(of(off)).ToString(format, System.Globalization.CultureInfo.InvariantCulture)} {unit} | {Median(of(on)).ToString(format, System.Globalization.CultureInfo.InvariantCulture)} {unit} | " +
                $"**{Median(ratios):P0}** (rounds: {Ratios(of)}) |");
        }
        Row($"Raw Npgsql insert, 1 row per transaction, {writers} writers", s => s.Baseline, "tx/s", "N0");
        Row($"1-event appends + inline projection, {writers} writers, distinct streams", s => s.Appends, "appends/s", "N0");
        Row("1 writer, 1-event append + inline projection, p50 latency (1,000 appends per round)", s => s.LatencyP50, "ms", "F3");
        Row($"Login-throttle statements of a successful login (reserve + record success), {ThrottleClients} clients", s => s.ThrottleRates, "logins/s", "N0");
        rows.Add($"| Appends as a share of the raw insert on the same data source | {Median(off.Appends.Zip(off.Baseline, (a, b) => a / b).ToList()):P0} | {Median(on.Appends.Zip(on.Baseline, (a, b) => a / b).ToList()):P0} | medians of per-round ratios |");
        return rows;
    }

    const int ThrottleClients = 4;

    sealed record PrepareSide(string Name, NpgsqlDataSource DataSource, PostgresEventStore Store, LoginThrottle Throttle)
    {
        public List<double> Baseline { get; } = [];
        public List<double> Appends { get; } = [];
        public List<double> LatencyP50 { get; } = [];
        public List<double> ThrottleRates { get; } = [];
    }

    // The throttle's part of a successful login, as Login.VerifyAsync does it around the password check.
    async Task<double> ThrottleAsync(PrepareSide side, TimeSpan duration)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        return await RunWritersAsync(duration, async (writer, cancellationToken) =>
        {
            var (username, address) = ($"bench-{run}-{writer}", $"10.0.{writer / 256}.{writer % 256}");
            var count = 0L;
            while (!cancellationToken.IsCancellationRequested)
            {
                if (await side.Throttle.ReserveAttemptAsync(username, address, CancellationToken.None) is not null)
                    throw new InvalidOperationException("The throttle blocked a benchmark login.");
                await side.Throttle.RecordSuccessAsync(username, address, CancellationToken.None);
                count++;
            }
            return count;
        }, ThrottleClients);
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

    async Task<double> RunWritersAsync(TimeSpan duration, Func<int, CancellationToken, Task<long>> writer, int? concurrency = null)
    {
        using var stop = new CancellationTokenSource();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, concurrency ?? writers).Select(w => Task.Run(() => writer(w, stop.Token))).ToArray();
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

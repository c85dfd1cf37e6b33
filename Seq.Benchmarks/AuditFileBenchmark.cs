using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Infrastructure.Auditing;

namespace Seq.Benchmarks;

/// <summary>
/// Issue 5's target for the file audit target: blocking lines from 32 concurrent writers, which share fsyncs,
/// against one writer whose every line waits for its own fsync, interleaved round by round in a temporary folder.
/// </summary>
sealed class AuditFileBenchmark(TimeSpan phase, int rounds, int writers)
{
    readonly string _root = Path.Combine(Path.GetTempPath(), "seq-bench-audit-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task<IReadOnlyList<string>> RunAsync()
    {
        Directory.CreateDirectory(_root);
        try
        {
            var single = new List<Phase>();
            var group = new List<Phase>();
            for (var round = 1; round <= rounds; round++)
            {
                single.Add(await MeasureAsync(1));
                group.Add(await MeasureAsync(writers));
                Console.WriteLine($"Round {round}: 1 writer {single[^1].LinesPerSecond:N0} lines/s ({single[^1].FsyncsPerLine:0.000} fsyncs/line); " +
                    $"{writers} writers {group[^1].LinesPerSecond:N0} lines/s ({group[^1].FsyncsPerLine:0.000} fsyncs/line, p50 {group[^1].P50.TotalMilliseconds:0.00} ms)");
            }

            var singleMedian = Median(single);
            var groupMedian = Median(group);
            var ratios = single.Zip(group, (s, g) => g.LinesPerSecond / s.LinesPerSecond).Order().ToList();
            return
            [
                $"| One writer: blocking line, awaited, in a loop | **{singleMedian.LinesPerSecond:N0} lines/s**, {singleMedian.FsyncsPerLine:0.00} fsyncs/line, p50 {singleMedian.P50.TotalMilliseconds:0.00} ms, p99 {singleMedian.P99.TotalMilliseconds:0.00} ms | — |",
                $"| {writers} concurrent writers, the same | **{groupMedian.LinesPerSecond:N0} lines/s**, {groupMedian.FsyncsPerLine:0.000} fsyncs/line, p50 {groupMedian.P50.TotalMilliseconds:0.00} ms, p99 {groupMedian.P99.TotalMilliseconds:0.00} ms | — |",
                $"| Ratio, {writers} writers to one | **{ratios[ratios.Count / 2]:0.0}×** (rounds: {string.Join(", ", single.Zip(group, (s, g) => (g.LinesPerSecond / s.LinesPerSecond).ToString("0.0", CultureInfo.InvariantCulture)))}) | ≥ 5× |",
            ];
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    async Task<Phase> MeasureAsync(int writerCount)
    {
        var session = "B" + Guid.NewGuid().ToString("N")[..19];
        var target = new FileAuditTarget(Path.Combine(_root, session), session, TimeProvider.System, NullLogger<FileAuditTarget>.Instance);
        var order = new object();
        var counter = 0L;
        await target.Enqueue(Line(session, 0), blocking: true);
        var fsyncsBefore = target.DurableFlushCount;

        var clock = Stopwatch.StartNew();
        var latencies = await Task.WhenAll(Enumerable.Range(0, writerCount).Select(_ => Task.Run(async () =>
        {
            var own = new List<double>();
            while (clock.Elapsed < phase)
            {
                var started = Stopwatch.GetTimestamp();
                Task written;
                lock (order)
                    written = target.Enqueue(Line(session, ++counter), blocking: true);
                await written;
                own.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            return own;
        })));
        var elapsed = clock.Elapsed;
        var fsyncs = target.DurableFlushCount - fsyncsBefore;
        await target.DisposeAsync();

        var written = File.ReadLines(target.FilePath!).Count();
        if (written != counter + 1)
            throw new InvalidOperationException($"The audit file holds {written} lines; {counter + 1} were written.");

        var all = latencies.SelectMany(l => l).Order().ToList();
        return new Phase(counter / elapsed.TotalSeconds, (double)fsyncs / counter,
            TimeSpan.FromMilliseconds(all[all.Count / 2]), TimeSpan.FromMilliseconds(all[(int)(all.Count * 0.99)]));
    }

    // About the size of a real Begin event: the schema's properties, an HTTP request and an operation.
    static byte[] Line(string session, long sequence) => Encoding.UTF8.GetBytes(
        $"{{\"@t\":\"{DateTime.UtcNow:O}\",\"@mt\":\"{{Principal}} began {{Category}}/{{Operation}}\",\"@i\":\"a1b2c3d4\"," +
        $"\"AuditSession\":\"{session}\",\"SequenceNumber\":{sequence},\"Principal\":\"admin\",\"PrincipalId\":\"user-1\"," +
        "\"PrincipalType\":\"User\",\"Category\":\"ApiKey\",\"Operation\":\"Create\",\"OperationId\":\"3f2a9c1e5b7d4e08\"," +
        "\"Event\":\"Begin\",\"HttpRequestMethod\":\"POST\",\"HttpRequestPath\":\"/api/apikeys\",\"RemoteIPAddress\":\"10.0.0.12\"," +
        "\"Title\":\"Ingestion for the build agents\",\"Hmac\":\"9c0d7f1e2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5\"}");

    static Phase Median(List<Phase> phases) => phases.OrderBy(p => p.LinesPerSecond).ElementAt(phases.Count / 2);

    sealed record Phase(double LinesPerSecond, double FsyncsPerLine, TimeSpan P50, TimeSpan P99);
}

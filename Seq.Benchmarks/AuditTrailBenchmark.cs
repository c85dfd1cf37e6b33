using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;

namespace Seq.Benchmarks;

/// <summary>
/// Issue 15's target: <c>audit verify</c> processes at least 200,000 lines/s, chain included, and replay's rate.
/// The lines are what the server writes (Begin/Complete pairs with HTTP properties, chained by the real
/// <see cref="AuditLog"/>); the baseline in the same run is a bare JsonDocument parse of every line, interleaved.
/// </summary>
sealed class AuditTrailBenchmark(int lines, int rounds)
{
    /// <summary>Takes every line at once, as durable, so that generating them costs no fsyncs.</summary>
    sealed class MemoryTarget : IAuditTarget
    {
        public List<byte[]> Lines { get; } = [];
        public string Description => "memory";
        public AuditTargetState State => AuditTargetState.Available;
        public string? Problem => null;
        public string? Refusal => null;
        public long QueuedLines => 0;
        public long QueuedBytes => 0;
        public long DurableLines => Lines.Count;

        public Task Enqueue(byte[] line, bool blocking)
        {
            Lines.Add(line);
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    public async Task<IReadOnlyList<string>> RunAsync()
    {
        var key = SecretKey.Generate();
        var session = AuditSession.Start();
        var target = new MemoryTarget();
        var principal = new Principal(PrincipalType.User, "auditor@example.com", "user-42", null, new HashSet<Permission>());
        var http = new HttpRequestInfo("PUT", "/api/settings/setting-InstanceTitle", "203.0.113.7", null);
        await using (var log = new AuditLog(target, session, key, TimeProvider.System))
        {
            for (var i = 0; i < lines / 2; i++)
            {
                var operation = Guid.NewGuid();
                await log.WriteAsync(new AuditEntry("Setting", "Update", AuditEventKind.Begin, operation, "Updating setting {Name} to {Value}",
                    [new("Name", "InstanceTitle"), new("Value", $"Title {i}")]), principal, http, CancellationToken.None);
                await log.WriteAsync(new AuditEntry("Setting", "Update", AuditEventKind.Complete, operation, "Updated setting {Name} to {Value}",
                    [new("Name", "InstanceTitle"), new("Value", $"Title {i}")]), principal, http, CancellationToken.None);
            }
        }
        var file = new AuditFileBytes($"seq-audit-20261201-{session.Id}.ndjson", [.. target.Lines.SelectMany(l => l.Append((byte)'\n'))]);
        var count = target.Lines.Count;
        var averageBytes = file.Bytes.Length / (double)count;

        var parse = new List<double>();
        var verify = new List<double>();
        var verifySingle = new List<double>();
        var replay = new List<double>();
        var replayPeak = new List<double>();
        var keptPeak = new List<double>();
        var read = new List<double>();
        var hmac = new List<double>();
        var subkey = key.DeriveSubkey(SecretPurposes.AuditIntegrity);
        var marker = System.Text.Encoding.UTF8.GetBytes($",\"{AuditLog.ChainProperty}\":\"");
        for (var round = 1; round <= rounds; round++)
        {
            parse.Add(Rate(count, "parse", () =>
            {
                foreach (var (start, length) in AuditLineReader.Lines(file.Bytes))
                    using (JsonDocument.Parse(file.Bytes.AsMemory(start, length))) { }
            }));
            verify.Add(Rate(count, "verify", () =>
            {
                var result = new AuditTrailVerifier(key).Verify([file], anchors: null);
                if (result.ExitCode != 0)
                    throw new InvalidOperationException($"The benchmark's own lines did not verify: {result.Findings.First(f => f.IsTampering)}");
            }));
            verifySingle.Add(Rate(count, "verify on one thread", () =>
            {
                var result = new AuditTrailVerifier(key) { ReadAhead = false }.Verify([file], anchors: null);
                if (result.ExitCode != 0)
                    throw new InvalidOperationException($"The benchmark's own lines did not verify: {result.Findings.First(f => f.IsTampering)}");
            }));
            var (replayRate, peak) = RateAndPeak(count, "replay", () =>
            {
                if (AuditReplay.Timeline([file], new AuditReplayFilter()).Count != count / 2)
                    throw new InvalidOperationException("The replay did not find every operation.");
            });
            replay.Add(replayRate);
            replayPeak.Add(peak);
            // For comparison: what holding every line of the file as read costs (as replay did before it streamed).
            keptPeak.Add(RateAndPeak(count, "every line kept", () => GC.KeepAlive(AuditTrailVerifier.ReadSessions([file]))).Peak);
            // Where verify's time goes: reading and checking each line alone, and the HMAC chain alone.
            read.Add(Rate(count, "read alone", () =>
            {
                var number = 0;
                foreach (var (start, length) in AuditLineReader.Lines(file.Bytes))
                    AuditLineReader.Read(file.Name, ++number, file.Bytes.AsSpan(start, length), full: false);
            }));
            hmac.Add(Rate(count, "HMAC alone", () =>
            {
                using var mac = System.Security.Cryptography.IncrementalHash.CreateHMAC(System.Security.Cryptography.HashAlgorithmName.SHA256, subkey);
                Span<byte> chain = stackalloc byte[32];
                foreach (var (start, length) in AuditLineReader.Lines(file.Bytes))
                {
                    var line = file.Bytes.AsSpan(start, length);
                    mac.AppendData(chain);
                    mac.AppendData(line[..line.LastIndexOf(marker)]);
                    mac.GetHashAndReset(chain);
                }
            }));
            Console.WriteLine($"Round {round}: parse {parse[^1]:N0} lines/s, verify {verify[^1]:N0} lines/s, verify on one thread {verifySingle[^1]:N0} lines/s, replay {replay[^1]:N0} lines/s (heap peak +{replayPeak[^1]:N0} MB; every line kept: +{keptPeak[^1]:N0} MB), read alone {read[^1]:N0} lines/s, HMAC alone {hmac[^1]:N0} lines/s");
        }

        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        var ratio = Median(verify) / Median(parse);
        return
        [
            $"| Lines | {count:N0} Begin/Complete lines of {averageBytes:0} bytes on average, one session, in memory | — |",
            $"| Baseline: JsonDocument.Parse of each line | **{Median(parse):N0} lines/s** | — |",
            $"| `audit verify` (schema, sequence, pairs, HMAC chain) | **{Median(verify):N0} lines/s** ({ratio.ToString("0.00", CultureInfo.InvariantCulture)}× the bare parse) | ≥ 200,000 lines/s |",
            $"| `audit verify` on one thread (no read-ahead) | **{Median(verifySingle):N0} lines/s** ({(Median(verifySingle) / Median(parse)).ToString("0.00", CultureInfo.InvariantCulture)}× the bare parse) | — |",
            $"| `audit replay` (timeline, no filter) | **{Median(replay):N0} lines/s**, managed heap peak {Median(replayPeak):N0} MB above the start (the {count / 2:N0} rows included) | reported |",
            $"| For comparison: every line of the file read and kept (`ReadSessions`, what replay held before) | heap peak {Median(keptPeak):N0} MB above the start | — |",
            $"| Part of verify: `AuditLineReader.Read` of each line alone (schema check) | {Median(read):N0} lines/s | — |",
            $"| Part of verify: the HMAC-SHA256 chain alone | {Median(hmac):N0} lines/s | — |",
        ];
    }

    /// <summary>The rate, and the peak of the managed heap above where it started, sampled every millisecond, in MB.</summary>
    static (double Rate, double Peak) RateAndPeak(int count, string label, Action work)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var before = GC.GetTotalMemory(false);
        var peak = before;
        using var done = new ManualResetEventSlim();
        var sampler = new Thread(() =>
        {
            while (!done.Wait(1))
                peak = Math.Max(peak, GC.GetTotalMemory(false));
        }) { IsBackground = true };
        sampler.Start();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        work();
        var rate = count / clock.Elapsed.TotalSeconds;
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {label}: {rate:N0} lines/s; processor {used.TotalSeconds:0.00} s ({count / used.TotalSeconds:N0} lines per processor-second) over {clock.Elapsed.TotalSeconds:0.00} s"));
        peak = Math.Max(peak, GC.GetTotalMemory(false));
        done.Set();
        sampler.Join();
        return (rate, (peak - before) / 1048576.0);
    }

    static double Rate(int count, string label, Action work)
    {
        GC.Collect();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var pauses = GC.GetTotalPauseDuration();
        var collections = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var clock = Stopwatch.StartNew();
        work();
        var rate = count / clock.Elapsed.TotalSeconds;
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        // On a shared machine the wall clock measures the others' load too; the processor time this process used does not.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {label}: {rate:N0} lines/s; processor {used.TotalSeconds:0.00} s ({count / used.TotalSeconds:N0} lines per processor-second) over {clock.Elapsed.TotalSeconds:0.00} s; GC pauses {(GC.GetTotalPauseDuration() - pauses).TotalMilliseconds:N0} ms, collections {GC.CollectionCount(0) - collections.Item1}/{GC.CollectionCount(1) - collections.Item2}/{GC.CollectionCount(2) - collections.Item3}"));
        return rate;
    }
}

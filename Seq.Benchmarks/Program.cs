using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Benchmarks;
using Seq.Infrastructure.Postgres;

// Usage: dotnet run -c Release --project Seq.Benchmarks -- eventstore [--seconds N] [--rounds N] [--feed-events N]
//        dotnet run -c Release --project Seq.Benchmarks -- autoprepare [--seconds N] [--rounds N]
//        dotnet run -c Release --project Seq.Benchmarks -- identity [--seconds N] [--rounds N]
//        dotnet run -c Release --project Seq.Benchmarks -- auditfile [--seconds N] [--rounds N] [--writers N]
//        dotnet run -c Release --project Seq.Benchmarks -- auditcost [--operations N] [--rounds N]
//        dotnet run -c Release --project Seq.Benchmarks -- audittrail [--lines N] [--rounds N]
//        dotnet run -c Release --project Seq.Benchmarks -- backup [--rounds N]
//        dotnet run -c Release --project Seq.Benchmarks -- ingestion [--seconds N] [--rounds N]
//        dotnet run -c Release --project Seq.Benchmarks -- eventsearch [--events N] [--searches N] [--seconds N] [--rounds N]
// Uses SEQ_BENCH_CONNECTIONSTRING when set; otherwise a private PostgreSQL cluster in a temporary folder,
// started from the machine's binaries exactly as the server starts its own.
var suite = args.FirstOrDefault() ?? "eventstore";
int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
}

if (suite is not ("eventstore" or "autoprepare" or "identity" or "auditfile" or "auditcost" or "audittrail" or "backup" or "ingestion" or "eventsearch"))
{
    Console.Error.WriteLine($"Unknown benchmark suite '{suite}'. Known: eventstore, autoprepare, identity, auditfile, auditcost, audittrail, backup, ingestion, eventsearch.");
    return 1;
}

void PrintTable(IReadOnlyList<string> rows, string header = "| Measurement | Result | Notes |")
{
    Console.WriteLine();
    Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}; date {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    Console.WriteLine(header);
    Console.WriteLine(string.Concat(Enumerable.Repeat("|---", header.Count(c => c == '|') - 1)) + "|");
    foreach (var row in rows)
        Console.WriteLine(row);
}

// The audit suites need no database.
if (suite == "auditcost")
{
    var directory = Path.Combine(Path.GetTempPath(), "seq-bench-auditcost-" + Guid.NewGuid().ToString("N")[..8]);
    try
    {
        PrintTable(await new AuditCostBenchmark(directory, operationsPerRound: Option("--operations", 2000), rounds: Option("--rounds", 5)).RunAsync());
    }
    finally
    {
        Directory.Delete(directory, recursive: true);
    }
    return 0;
}

if (suite == "audittrail")
{
    PrintTable(await new AuditTrailBenchmark(lines: Option("--lines", 400_000), rounds: Option("--rounds", 5)).RunAsync());
    return 0;
}

if (suite == "auditfile")
{
    PrintTable(await new AuditFileBenchmark(TimeSpan.FromSeconds(Option("--seconds", 5)), rounds: Option("--rounds", 3), writers: Option("--writers", 32)).RunAsync());
    return 0;
}

var connectionString = Environment.GetEnvironmentVariable("SEQ_BENCH_CONNECTIONSTRING");
EmbeddedPostgres? embedded = null;
var storageRoot = Path.Combine(Path.GetTempPath(), "seq-bench-" + Guid.NewGuid().ToString("N")[..8]);
try
{
    if (connectionString is null)
    {
        embedded = await EmbeddedPostgres.StartAsync(storageRoot, NullLogger.Instance);
        connectionString = embedded.ConnectionString;
    }

    var rows = suite == "ingestion"
        ? await new IngestionBenchmark(connectionString, TimeSpan.FromSeconds(Option("--seconds", 5)), Option("--rounds", 3)).RunIngestionAsync()
        : suite == "eventsearch"
        ? await new IngestionBenchmark(connectionString, TimeSpan.FromSeconds(Option("--seconds", 3)), Option("--rounds", 3)).RunSearchAsync(Option("--events", 1_000_000), Option("--searches", 100))
        : suite == "backup"
        ? await new BackupBenchmark(connectionString, rounds: Option("--rounds", 3)).RunAsync()
        : suite == "identity"
        ? await new IdentityBenchmark(connectionString, TimeSpan.FromSeconds(Option("--seconds", 15)), rounds: Option("--rounds", 3)).RunAsync()
        : suite == "autoprepare"
        ? await new EventStoreBenchmark(connectionString, TimeSpan.FromSeconds(Option("--seconds", 4)), writers: 16, rounds: Option("--rounds", 5), feedEvents: 0).CompareAutoPrepareAsync()
        : await new EventStoreBenchmark(connectionString, TimeSpan.FromSeconds(Option("--seconds", 10)), writers: 16, rounds: Option("--rounds", 3), feedEvents: Option("--feed-events", 300_000)).RunAsync();

    PrintTable(rows, suite == "autoprepare" ? "| Measurement | MaxAutoPrepare 0 (the server) | MaxAutoPrepare 50 | 0 ÷ 50, median of rounds |" : "| Measurement | Result | Notes |");
    return 0;
}
finally
{
    if (embedded is not null)
        await embedded.DisposeAsync();
    if (Directory.Exists(storageRoot))
        Directory.Delete(storageRoot, recursive: true);
}

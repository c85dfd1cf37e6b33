using System.Diagnostics;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Application;
using Seq.Application.Auditing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;

namespace Seq.Benchmarks;

[Demands(Permission.Public)]
[Audited("Bench", "NoOp")]
public sealed record BenchNoOpCommand([property: AuditProperty] int Value) : IRequest<int>;

sealed class BenchNoOpHandler : IRequestHandler<BenchNoOpCommand, int>
{
    public Task<int> Handle(BenchNoOpCommand request, CancellationToken cancellationToken) => Task.FromResult(request.Value);
}

/// <summary>
/// Issue 5's cost target: a no-op command through the real mediator pipeline, audited to a file target (Begin
/// fsynced before the handler, Complete after), against the same command with auditing disabled, and against a bare
/// write-and-fsync of one line to a file in the same directory: the audited p50 may exceed the unaudited p50 by at
/// most one fsync plus 0.3 ms. One client, sequential, interleaved rounds.
/// </summary>
sealed class AuditCostBenchmark(string directory, int operationsPerRound, int rounds)
{
    public async Task<IReadOnlyList<string>> RunAsync()
    {
        Directory.CreateDirectory(directory);
        var key = SecretKey.Generate();
        await using var unaudited = Build(new AuditLog(null, AuditSession.Start(), key, TimeProvider.System));
        var session = AuditSession.Start();
        await using var audited = Build(new AuditLog(
            new FileAuditTarget(directory, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance), session, key, TimeProvider.System));
        await using var bare = new FileStream(Path.Combine(directory, "bare-fsync.ndjson"), FileMode.Append, FileAccess.Write, FileShare.Read);
        var line = new byte[400];
        Array.Fill(line, (byte)'x');
        line[^1] = (byte)'\n';

        await SendAsync(unaudited, 200);
        await SendAsync(audited, 200);
        Fsync(bare, line, 200);

        var plain = new List<double>();
        var withAudit = new List<double>();
        var fsyncs = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            plain.AddRange(await SendAsync(unaudited, operationsPerRound));
            withAudit.AddRange(await SendAsync(audited, operationsPerRound));
            fsyncs.AddRange(Fsync(bare, line, operationsPerRound));
            Console.WriteLine($"round {round}: unaudited p50 {P(plain, 0.5):F3} ms, audited p50 {P(withAudit, 0.5):F3} ms, fsync p50 {P(fsyncs, 0.5):F3} ms");
        }

        var overhead = P(withAudit, 0.5) - P(plain, 0.5);
        var budget = P(fsyncs, 0.5) + 0.3;
        return
        [
            $"| No-op command, auditing disabled | p50 {P(plain, 0.5):F3} ms, p99 {P(plain, 0.99):F3} ms | {plain.Count:N0} sends, one client |",
            $"| No-op command, audited to a file (Begin fsynced, Complete) | p50 {P(withAudit, 0.5):F3} ms, p99 {P(withAudit, 0.99):F3} ms | {withAudit.Count:N0} sends |",
            $"| One 400-byte line written and fsynced, same directory | p50 {P(fsyncs, 0.5):F3} ms, p99 {P(fsyncs, 0.99):F3} ms | {fsyncs.Count:N0} writes |",
            $"| Audit overhead (p50 audited − p50 unaudited) | **{overhead:F3} ms** | target ≤ one fsync + 0.3 ms = {budget:F3} ms: {(overhead <= budget ? "met" : "missed")} |",
        ];
    }

    static ServiceProvider Build(AuditLog audit)
    {
        var services = new ServiceCollection();
        services.AddApplication();
        services.AddSingleton(audit);
        services.AddScoped<IAuditLog, OperationAuditLog>();
        DependencyInjection.RegisterClosedImplementations(services, typeof(AuditCostBenchmark).Assembly, typeof(IRequestHandler<,>));
        return services.BuildServiceProvider();
    }

    static async Task<List<double>> SendAsync(ServiceProvider provider, int count)
    {
        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            using (var scope = provider.CreateScope())
            {
                scope.ServiceProvider.GetRequiredService<OperationContext>().Http = new HttpRequestInfo("POST", "/bench", "127.0.0.1", null);
                await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new BenchNoOpCommand(i));
            }
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        return times;
    }

    static List<double> Fsync(FileStream file, byte[] line, int count)
    {
        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            file.Write(line);
            file.Flush(flushToDisk: true);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        return times;
    }

    static double P(List<double> values, double quantile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(quantile * sorted.Count))];
    }
}

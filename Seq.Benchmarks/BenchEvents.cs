using Seq.Domain;
using Seq.Infrastructure.EventSourcing;

namespace Seq.Benchmarks;

public sealed record BenchCounterIncremented(string CounterId, int Amount, string Note) : IDomainEvent;

/// <summary>The inline projection appended with every benchmark event: an upsert of a running total.</summary>
sealed class BenchTotalsProjection : IInlineProjection
{
    public const string CreateTable = "CREATE TABLE IF NOT EXISTS bench_totals (counter_id text PRIMARY KEY, total bigint NOT NULL, updates bigint NOT NULL)";

    public bool Handles(Type eventType) => eventType == typeof(BenchCounterIncremented);

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        var e = (BenchCounterIncremented)@event.Data;
        commands.Add("""
            INSERT INTO bench_totals (counter_id, total, updates) VALUES ($1, $2, 1)
            ON CONFLICT (counter_id) DO UPDATE SET total = bench_totals.total + excluded.total, updates = bench_totals.updates + 1
            """, e.CounterId, (long)e.Amount);
    }
}

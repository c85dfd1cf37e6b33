using Seq.Domain;
using Seq.Infrastructure.EventSourcing;

namespace Seq.Tests.Support;

public sealed record CounterIncremented(string CounterId, int Amount) : IDomainEvent;

public sealed class Counter : IEventSourced
{
    public int Total { get; private set; }
    public int Increments { get; private set; }

    public void Apply(IDomainEvent @event)
    {
        switch (@event)
        {
            case CounterIncremented e:
                Total += e.Amount;
                Increments++;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, null);
        }
    }
}

/// <summary>An inline projection used only by tests: a running total per counter.</summary>
public sealed class CounterTotalsProjection : IInlineProjection
{
    public const string CreateTable = "CREATE TABLE IF NOT EXISTS test_counter_totals (counter_id text PRIMARY KEY, total bigint NOT NULL)";

    public bool Handles(Type eventType) => eventType == typeof(CounterIncremented);

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        var e = (CounterIncremented)@event.Data;
        commands.Add("""
            INSERT INTO test_counter_totals (counter_id, total) VALUES ($1, $2)
            ON CONFLICT (counter_id) DO UPDATE SET total = test_counter_totals.total + excluded.total
            """, e.CounterId, (long)e.Amount);
    }
}

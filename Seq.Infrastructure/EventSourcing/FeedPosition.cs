namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// A point in the global feed. The feed is ordered by the writing transaction's id, then by sequence, so that a
/// reader that stays below the oldest running transaction never passes an event that commits later.
/// </summary>
public readonly record struct FeedPosition(ulong Transaction, long Sequence)
{
    public static readonly FeedPosition Start = new(0, 0);
}

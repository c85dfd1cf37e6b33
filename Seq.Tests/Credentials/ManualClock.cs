namespace Seq.Tests.Credentials;

/// <summary>A clock that stands still until a test moves it.</summary>
sealed class ManualClock : TimeProvider
{
    long _utcTicks;

    // A whole second, because PostgreSQL keeps microseconds and a tick-precise start would round.
    public ManualClock() : this(new DateTimeOffset(2025, 3, 1, 9, 0, 0, TimeSpan.Zero))
    {
    }

    public ManualClock(DateTimeOffset start) => _utcTicks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);
}

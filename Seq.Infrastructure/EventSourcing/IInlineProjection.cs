namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// A read model kept in step with the events: its statements are added to the append's own batch, so they
/// commit or roll back with the events, in the same round trip.
/// </summary>
public interface IInlineProjection
{
    bool Handles(Type eventType);

    void Project(PendingEvent @event, ProjectionCommands commands);

    /// <summary>
    /// The tables this projection alone writes, emptied before a rebuild replays every event through it (restore,
    /// <see cref="ProjectionRebuild"/>). Null means undeclared, and a rebuild refuses to run rather than guess.
    /// </summary>
    IReadOnlyList<string>? Tables => null;
}

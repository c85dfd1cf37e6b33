using Npgsql;

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

/// <summary>The statements an inline projection contributes to an append.</summary>
public sealed class ProjectionCommands(NpgsqlBatch batch)
{
    /// <summary>Adds a statement with positional parameters ($1, $2 …) taking <paramref name="values"/> in order.</summary>
    public void Add(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        batch.BatchCommands.Add(command);
    }
}

/// <summary>
/// Told of events once their append has committed, before the append returns to its caller: for in-memory state
/// that must reflect a change by the time the request that made it is answered.
/// </summary>
public interface IAppendObserver
{
    Task AfterCommitAsync(IReadOnlyList<Seq.Domain.IDomainEvent> events, CancellationToken cancellationToken);
}

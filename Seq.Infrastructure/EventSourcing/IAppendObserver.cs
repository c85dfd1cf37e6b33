namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// Told of events once their append has committed, before the append returns to its caller: for in-memory state
/// that must reflect a change by the time the request that made it is answered.
/// </summary>
public interface IAppendObserver
{
    Task AfterCommitAsync(IReadOnlyList<Seq.Domain.IDomainEvent> events, CancellationToken cancellationToken);
}

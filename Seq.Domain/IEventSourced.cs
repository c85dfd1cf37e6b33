namespace Seq.Domain;

/// <summary>
/// An aggregate that is rebuilt by applying its stream's events in order. <see cref="Apply"/> only evolves
/// state and never throws for an event the aggregate owns; decisions live in other methods and return events.
/// </summary>
public interface IEventSourced
{
    void Apply(IDomainEvent @event);
}

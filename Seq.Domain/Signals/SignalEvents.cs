namespace Seq.Domain.Signals;

public sealed record SignalCreated(string SignalId, string? OwnerId, SignalDefinition Definition, DateTimeOffset CreatedAt) : IDomainEvent;

public sealed record SignalChanged(string SignalId, SignalDefinition Definition, DateTimeOffset ChangedAt) : IDomainEvent;

public sealed record SignalRemoved(string SignalId, DateTimeOffset RemovedAt) : IDomainEvent;

namespace Seq.Domain;

/// <summary>
/// A fact that happened to an aggregate: a sealed record of ids and primitives, named in the past tense.
/// New shapes are new types; a stored event type is never changed incompatibly.
/// </summary>
public interface IDomainEvent;

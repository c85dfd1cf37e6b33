namespace Seq.Domain;

/// <summary>A request broke a rule of the domain. The message is safe to show to the caller.</summary>
public sealed class DomainException(string message) : Exception(message);

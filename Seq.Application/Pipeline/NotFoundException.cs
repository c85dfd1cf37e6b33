namespace Seq.Application.Pipeline;

/// <summary>The thing a request names does not exist. The message is safe to show to the caller.</summary>
public sealed class NotFoundException(string message) : Exception(message);

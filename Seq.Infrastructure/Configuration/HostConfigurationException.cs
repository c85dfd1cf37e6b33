namespace Seq.Infrastructure.Configuration;

/// <summary>A host setting is unknown, malformed, or cannot be read. The message is safe to print: it never holds a secret value.</summary>
public sealed class HostConfigurationException(string message) : Exception(message);

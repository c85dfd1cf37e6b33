namespace Seq.Infrastructure.Security;

/// <summary>The secret key could not be loaded, or is not the one the storage was initialized with. The message is safe to print: it names keys only by their ids.</summary>
public sealed class SecretKeyException(string message) : Exception(message);

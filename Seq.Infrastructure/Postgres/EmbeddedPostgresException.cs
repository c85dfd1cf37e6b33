namespace Seq.Infrastructure.Postgres;

/// <summary>The private PostgreSQL cluster could not be initialized, started or stopped; the message says why.</summary>
public sealed class EmbeddedPostgresException(string message, Exception? innerException = null)
    : Exception(message, innerException);

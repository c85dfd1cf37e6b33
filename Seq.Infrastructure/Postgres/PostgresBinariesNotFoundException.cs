namespace Seq.Infrastructure.Postgres;

/// <summary>No PostgreSQL server binaries were found to run a private cluster with.</summary>
public sealed class PostgresBinariesNotFoundException(string message) : Exception(message);

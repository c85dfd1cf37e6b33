namespace Seq.Infrastructure.Auditing;

public enum AuditTargetState
{
    Available,
    Unavailable,
}

/// <summary>An audit line could not be made durable.</summary>
public sealed class AuditTargetException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The target was already closed, so the line was not queued at all.</summary>
    public bool TargetClosed { get; init; }
}

public interface IAuditTarget : IAsyncDisposable
{
    /// <summary>"file /path/to/dir" or "server https://host:port" — safe to show (no API key).</summary>
    string Description { get; }

    /// <summary>Unavailable after the last write attempt failed, until one succeeds, or while an attempt takes longer than the write limit.</summary>
    AuditTargetState State { get; }

    /// <summary>Why the target cannot take audited operations now (safe to show: no path, no key), or null.</summary>
    string? Problem { get; }

    /// <summary>
    /// A reason to refuse opening events (Begin, Record) now even though lines can still be written, such as an
    /// audit disk that is nearly full, or null.
    /// </summary>
    string? Refusal { get; }

    /// <summary>Lines held in memory that are not yet durable: queued, or written but not yet covered by an fsync.</summary>
    long QueuedLines { get; }

    long QueuedBytes { get; }

    /// <summary>How many of the lines queued so far (counted from the first) are durable; they become so in queue order.</summary>
    long DurableLines { get; }

    /// <summary>
    /// Queues one line (a complete UTF-8 JSON object, no trailing newline) behind every line queued before it; this
    /// method itself never blocks and never throws for I/O. For a blocking line the task completes once the line and
    /// every line before it are durable (file: written and fsynced; server: answered 201), or faults with
    /// AuditTargetException when that fails (after the server target's bounded retries/timeout). For a non-blocking
    /// line the task is already complete; the line is written in its place in the order, and retried (with backoff)
    /// until written while the process lives. Once the target is closed it throws AuditTargetException with
    /// TargetClosed and queues nothing, so the caller can keep the line's sequence number for no line.
    /// </summary>
    Task Enqueue(byte[] line, bool blocking);
}

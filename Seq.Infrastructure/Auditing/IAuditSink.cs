namespace Seq.Infrastructure.Auditing;

/// <summary>The part of an audit target that knows its medium; <see cref="OrderedAuditWriter"/> owns the order.</summary>
interface IAuditSink : IAsyncDisposable
{
    int MaxBatchLines { get; }

    long MaxBatchBytes { get; }

    /// <summary>
    /// Appends the lines, in order, each exactly once, or throws and leaves no part of them behind (as far as the
    /// medium allows). When <paramref name="durable"/> is set, they and everything written before must be durable
    /// when the task completes.
    /// </summary>
    Task WriteBatchAsync(IReadOnlyList<byte[]> lines, bool durable, CancellationToken cancellationToken);

    /// <summary>Makes every line already written durable.</summary>
    Task FlushAsync(CancellationToken cancellationToken);
}

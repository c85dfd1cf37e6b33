using Microsoft.Extensions.Logging;

namespace Seq.Infrastructure.Auditing;

/// <summary>
/// Writes audit lines to one newline-delimited JSON file per run, <c>seq-audit-{yyyyMMdd}-{session}.ndjson</c>,
/// fsyncing before a blocking line's task completes; concurrent blocking lines share one fsync.
/// </summary>
public sealed class FileAuditTarget : IAuditTarget
{
    readonly FileAuditSink _sink;
    readonly OrderedAuditWriter _writer;

    public FileAuditTarget(string directory, string auditSession, TimeProvider clock, ILogger<FileAuditTarget> logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(auditSession);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(logger);
        if (auditSession.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || auditSession.Contains('.', StringComparison.Ordinal))
            throw new ArgumentException("The audit session must be usable as part of a file name.", nameof(auditSession));

        var fullDirectory = Path.GetFullPath(directory);
        Description = $"file {fullDirectory}";
        _sink = new FileAuditSink(fullDirectory, auditSession, clock);
        _writer = new OrderedAuditWriter(_sink, Description, logger, OrderedAuditWriter.DefaultInitialBackoff);
    }

    public string Description { get; }

    public AuditTargetState State => _writer.State;

    /// <summary>The audit file, once it has been created; null before the first successful open.</summary>
    public string? FilePath => _sink.FilePath;

    internal int DurableFlushCount => _sink.DurableFlushCount;

    public Task Enqueue(byte[] line, bool blocking) => _writer.Enqueue(line, blocking);

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    internal static string FileNameFor(string auditSession, DateTimeOffset createdAt) =>
        $"seq-audit-{createdAt.UtcDateTime:yyyyMMdd}-{auditSession}.ndjson";
}

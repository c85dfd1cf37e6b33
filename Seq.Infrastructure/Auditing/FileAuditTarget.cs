using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Seq.Infrastructure.Auditing;

/// <param name="WriteTimeout">How long a blocking line may take to become durable before its operation is refused (503).</param>
/// <param name="MinimumFreeBytes">Below this much free space on the audit disk, opening events are refused before it fills up.</param>
public sealed record FileAuditTargetOptions(TimeSpan WriteTimeout, long MinimumFreeBytes)
{
    public const int DefaultWriteTimeoutSeconds = 5;
    public const int DefaultMinimumFreeMegabytes = 64;

    public static FileAuditTargetOptions Default { get; } =
        new(TimeSpan.FromSeconds(DefaultWriteTimeoutSeconds), DefaultMinimumFreeMegabytes * 1024L * 1024);
}

/// <summary>
/// Writes audit lines to newline-delimited JSON files, <c>seq-audit-{yyyyMMdd}-{session}.ndjson</c> per run and,
/// after a failed fsync, <c>seq-audit-{yyyyMMdd}-{session}-{n}.ndjson</c> (n = 2, 3 …, same date) for the rest of
/// the session (ADR 0009); fsyncing before a blocking line's task completes; concurrent blocking lines share one fsync.
/// </summary>
public sealed partial class FileAuditTarget : IAuditTarget
{
    readonly FileAuditSink _sink;
    readonly OrderedAuditWriter _writer;
    readonly string _directory;
    readonly long _minimumFreeBytes;

    public FileAuditTarget(string directory, string auditSession, TimeProvider clock, ILogger<FileAuditTarget> logger, FileAuditTargetOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(auditSession);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(logger);
        if (auditSession.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || auditSession.Contains('.', StringComparison.Ordinal) || auditSession.Contains('-', StringComparison.Ordinal))
            throw new ArgumentException("The audit session must be usable as part of a file name.", nameof(auditSession));
        options ??= FileAuditTargetOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.WriteTimeout, TimeSpan.FromMilliseconds(10), nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MinimumFreeBytes, nameof(options));

        _directory = Path.GetFullPath(directory);
        _minimumFreeBytes = options.MinimumFreeBytes;
        Description = $"file {_directory}";
        _sink = new FileAuditSink(_directory, auditSession, clock);
        _writer = new OrderedAuditWriter(_sink, Description, logger, OrderedAuditWriter.DefaultInitialBackoff, options.WriteTimeout);
    }

    public string Description { get; }

    public AuditTargetState State => _writer.State;

    public string? Problem => _writer.Problem ?? LowSpace();

    public long QueuedLines => _writer.QueuedLines + _sink.UnsyncedLines;

    public long DurableLines => _writer.DurableLines;

    public long QueuedBytes => _writer.QueuedBytes + _sink.UnsyncedBytes;

    public string? Refusal => LowSpace();

    public long MinimumFreeBytes => _minimumFreeBytes;

    /// <summary>The audit file being written, once it has been created; null before the first successful open.</summary>
    public string? FilePath => _sink.FilePath;

    internal int DurableFlushCount => _sink.DurableFlushCount;

    public Task Enqueue(byte[] line, bool blocking) => _writer.Enqueue(line, blocking);

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    /// <summary>Free bytes on the file system of the audit directory (or of its nearest existing parent), or null when unknown.</summary>
    public long? FreeBytes()
    {
        for (var path = _directory; path is not null; path = Path.GetDirectoryName(path))
        {
            if (!Directory.Exists(path))
                continue;
            try
            {
                return new DriveInfo(path).AvailableFreeSpace;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
            {
                return null;
            }
        }
        return null;
    }

    string? LowSpace()
    {
        if (_minimumFreeBytes == 0 || FreeBytes() is not { } free || free >= _minimumFreeBytes)
            return null;
        return $"The audit disk has {Megabytes(free)} MB free, less than the {Megabytes(_minimumFreeBytes)} MB that audit.minimumFreeSpaceMB keeps in reserve.";
    }

    static string Megabytes(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.#", CultureInfo.InvariantCulture);

    internal static string FileNameFor(string auditSession, DateTimeOffset createdAt, int generation = 1) =>
        generation == 1
            ? $"seq-audit-{createdAt.UtcDateTime:yyyyMMdd}-{auditSession}.ndjson"
            : $"seq-audit-{createdAt.UtcDateTime:yyyyMMdd}-{auditSession}-{generation.ToString(CultureInfo.InvariantCulture)}.ndjson";

    /// <summary>The session and the file's place in it (1 for the first file), from a name this target gives its files.</summary>
    public static bool TryParseFileName(string fileName, out string auditSession, out int generation)
    {
        var match = FileName().Match(Path.GetFileName(fileName));
        auditSession = match.Success ? match.Groups["session"].Value : "";
        generation = match.Success && match.Groups["generation"].Success
            ? int.Parse(match.Groups["generation"].Value, CultureInfo.InvariantCulture)
            : 1;
        return match.Success;
    }

    [GeneratedRegex(@"^seq-audit-\d{8}-(?<session>[A-Za-z0-9]+)(-(?<generation>[1-9][0-9]{0,8}))?\.ndjson$")]
    private static partial Regex FileName();
}

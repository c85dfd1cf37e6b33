using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Seq.Infrastructure.Storage;

namespace Seq.Infrastructure.Auditing;

/// <summary>
/// Appends batches to the audit file. A failed write is cut back to the length before the batch, so that the retry
/// neither duplicates nor leaves half a line. When even the cut fails (the medium is gone), the file is closed and
/// reopened for the next attempt; the reopen ends any fragment left behind with a newline, so a reader then sees
/// one unparseable line followed by the complete lines of the retry, and nothing of the retry is lost.
/// <para>
/// A failed fsync is different (ADR 0009): Linux may have dropped the dirty pages already and reports the error
/// once, so the file is never written or synced again. The session continues in a new file whose first line links
/// to the last line known durable, followed again by every line written since the last good fsync, which this sink
/// keeps in memory until an fsync covers them.
/// </para>
/// </summary>
sealed class FileAuditSink(string directory, string auditSession, TimeProvider clock) : IAuditSink
{
    const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    const string ContinuationTemplate = "Audit session {AuditSession} continues from {ContinuesFrom} after sequence number {ContinuesAfter}";

    static readonly byte[] Newline = "\n"u8.ToArray();

    // Lines written to the current file since its last good fsync that have already left the writer's queue.
    readonly List<byte[]> _unsynced = [];
    long _unsyncedLines;
    long _unsyncedBytes;

    FileStream? _file;
    string? _path;
    DateTimeOffset? _createdAt;
    int _generation = 1;
    bool _needsContinuation;
    string? _abandonedPath;
    byte[]? _lastDurable;
    bool _directorySynced;
    int _durableFlushCount;

    public int MaxBatchLines => 1000;

    public long MaxBatchBytes => 1024 * 1024;

    public string? FilePath => Volatile.Read(ref _path);

    public int DurableFlushCount => Volatile.Read(ref _durableFlushCount);

    /// <summary>Lines held in memory because no fsync has covered them yet.</summary>
    public long UnsyncedLines => Volatile.Read(ref _unsyncedLines);

    public long UnsyncedBytes => Volatile.Read(ref _unsyncedBytes);

    public Task WriteBatchAsync(IReadOnlyList<byte[]> lines, bool durable, CancellationToken cancellationToken)
    {
        var file = Open();
        var start = file.Length;
        try
        {
            file.Write(Join(lines));
        }
        catch
        {
            CutBack(file, start);
            throw;
        }

        if (durable)
        {
            // On failure the lines stay in the writer's queue, which retries them in the next file.
            Sync(file);
            _lastDurable = lines[^1];
        }
        else
        {
            _unsynced.AddRange(lines);
            Volatile.Write(ref _unsyncedLines, _unsynced.Count);
            Volatile.Write(ref _unsyncedBytes, _unsyncedBytes + lines.Sum(l => (long)l.Length + 1));
        }
        return Task.CompletedTask;
    }

    public Task FlushAsync(CancellationToken cancellationToken)
    {
        // After a failed cut-back closed the file, lines written before it may still be only in the page cache; an
        // fsync through a fresh handle reaches them, because it flushes the file, not the handle. After a failed
        // fsync, Open starts the next file with those lines instead.
        if (_needsContinuation)
            Open(); // the continuation file is synced as it is made
        else if (FilePath is not null)
            Sync(Open());
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        // Lines written before a failed fsync are only in memory now: one last continuation file, or say they are lost.
        if (_file is null && _needsContinuation && _unsynced.Count > 0)
        {
            var lost = _unsynced.Count;
            try
            {
                Open();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AuditTargetException($"{lost} audit lines written before a failed fsync could not be written to a new file before shutdown and are lost: {e.Message}", e);
            }
        }
        if (_file is { } file)
        {
            _file = null;
            try
            {
                DirectorySync.FlushFile(file);
            }
            finally
            {
                file.Dispose();
            }
        }
        return ValueTask.CompletedTask;
    }

    FileStream Open()
    {
        if (_file is not null)
            return _file;
        if (_needsContinuation)
            return OpenContinuation();

        // The name carries the date the file was created, so it is fixed by the first open that succeeds.
        var createdAt = _createdAt ?? clock.GetUtcNow();
        var path = _path ?? Path.Combine(directory, FileAuditTarget.FileNameFor(auditSession, createdAt));
        EnsureDirectory();

        var existed = File.Exists(path);
        var file = new FileStream(path, Options(FileMode.OpenOrCreate));
        try
        {
            if (!existed)
                _directorySynced = false;
            if (!_directorySynced)
            {
                DirectorySync.Flush(directory);
                _directorySynced = true;
            }
            file.Seek(0, SeekOrigin.End);
            EndFragment(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }

        _file = file;
        _createdAt = createdAt;
        Volatile.Write(ref _path, path);
        return file;
    }

    /// <summary>
    /// Starts the next file of the session: the link to the last durable line, then the lines no good fsync has
    /// covered, all durable (with the new name) before anything else goes there. A file that fails on the way is
    /// removed and made again by the next attempt, so that names stay consecutive.
    /// </summary>
    FileStream OpenContinuation()
    {
        var generation = _generation + 1;
        var path = Path.Combine(directory, FileAuditTarget.FileNameFor(auditSession, _createdAt ?? clock.GetUtcNow(), generation));
        EnsureDirectory();

        var file = new FileStream(path, Options(FileMode.Create));
        try
        {
            file.Write(Join([Continuation(), .. _unsynced]));
            DirectorySync.FlushFile(file);
            DirectorySync.Flush(directory);
        }
        catch
        {
            file.Dispose();
            try
            {
                File.Delete(path);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Made again from the start (FileMode.Create truncates) by the next attempt.
            }
            throw;
        }

        _file = file;
        _generation = generation;
        _needsContinuation = false;
        _directorySynced = true;
        Covered();
        Interlocked.Increment(ref _durableFlushCount);
        Volatile.Write(ref _path, path);
        return file;
    }

    void EnsureDirectory()
    {
        var directoryExisted = Directory.Exists(directory);
        Directory.CreateDirectory(directory);
        if (!directoryExisted && Path.GetDirectoryName(directory) is { } parent)
            DirectorySync.Flush(parent);
    }

    // Owner-only, like the secret key: the audit log names people, addresses and what they did.
    static FileStreamOptions Options(FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.ReadWrite, Share = FileShare.Read, BufferSize = 0 };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = OwnerOnly;
        return options;
    }

    void Sync(FileStream file)
    {
        try
        {
            DirectorySync.FlushFile(file);
        }
        catch (FileSyncException failure)
        {
            Abandon(file);
            throw new AuditTargetException(
                $"{failure.Message} The file is not written again; the audit session continues in a new file.", failure);
        }
        Covered();
        Interlocked.Increment(ref _durableFlushCount);
    }

    void Covered()
    {
        if (_unsynced.Count > 0)
            _lastDurable = _unsynced[^1];
        _unsynced.Clear();
        Volatile.Write(ref _unsyncedLines, 0);
        Volatile.Write(ref _unsyncedBytes, 0);
    }

    void Abandon(FileStream file)
    {
        _file = null;
        _abandonedPath = file.Name;
        _needsContinuation = true;
        try
        {
            file.Dispose();
        }
        catch (IOException)
        {
            // Closing may report the same write-back error again; the file is given up either way.
        }
    }

    /// <summary>
    /// An unsequenced line naming the file before and the sequence number and chain value the next line follows
    /// (ADR 0009); sequence 0 and no chain value mean the session's chain start.
    /// </summary>
    byte[] Continuation()
    {
        var (sequence, chain) = Head(_lastDurable);
        var from = Path.GetFileName(_abandonedPath) ?? "";
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("@t", clock.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("@mt", ContinuationTemplate);
            json.WriteString("@m", $"Audit session \"{auditSession}\" continues from \"{from}\" after sequence number {sequence?.ToString(CultureInfo.InvariantCulture) ?? "null"}");
            json.WriteString("@i", AuditLog.EventTypeOf(ContinuationTemplate));
            json.WriteString("@l", "Warning");
            json.WriteString("AuditSession", auditSession);
            json.WriteString(AuditChainVerifier.ContinuesFromProperty, from);
            if (sequence is { } s)
                json.WriteNumber(AuditChainVerifier.ContinuesAfterProperty, s);
            else
                json.WriteNull(AuditChainVerifier.ContinuesAfterProperty);
            if (chain is null)
                json.WriteNull(AuditChainVerifier.ContinuesFromChainProperty);
            else
                json.WriteString(AuditChainVerifier.ContinuesFromChainProperty, chain);
            json.WriteString("Reason", "An fsync of the previous file failed, so that file is not trusted after the line named here.");
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The sequence number and chain value of the last durable line; (0, null) before any.</summary>
    static (long? Sequence, string? Chain) Head(byte[]? line)
    {
        if (line is null)
            return (0, null);
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            return root.TryGetProperty("SequenceNumber", out var sequence) && root.TryGetProperty(AuditLog.ChainProperty, out var chain)
                ? (sequence.GetInt64(), chain.GetString())
                : (null, null);
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or FormatException)
        {
            return (null, null);
        }
    }

    void CutBack(FileStream file, long length)
    {
        try
        {
            file.SetLength(length);
            file.Seek(length, SeekOrigin.Begin);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            _file = null;
            file.Dispose();
        }
    }

    static void EndFragment(FileStream file)
    {
        if (!file.CanSeek || file.Length == 0)
            return;
        file.Seek(-1, SeekOrigin.End);
        var last = file.ReadByte();
        file.Seek(0, SeekOrigin.End);
        if (last != '\n')
            file.Write(Newline);
    }

    static byte[] Join(IReadOnlyList<byte[]> lines)
    {
        var length = 0;
        foreach (var line in lines)
            length += line.Length + 1;
        var buffer = new byte[length];
        var offset = 0;
        foreach (var line in lines)
        {
            line.CopyTo(buffer, offset);
            offset += line.Length;
            buffer[offset++] = (byte)'\n';
        }
        return buffer;
    }
}

using Seq.Infrastructure.Storage;

namespace Seq.Infrastructure.Auditing;

/// <summary>
/// Appends batches to the audit file. A failed write is cut back to the length before the batch, so that the retry
/// neither duplicates nor leaves half a line. When even the cut fails (the medium is gone), the file is closed and
/// reopened for the next attempt; the reopen ends any fragment left behind with a newline, so a reader then sees
/// one unparseable line followed by the complete lines of the retry, and nothing of the retry is lost.
/// </summary>
sealed class FileAuditSink(string directory, string auditSession, TimeProvider clock) : IAuditSink
{
    static readonly byte[] Newline = "\n"u8.ToArray();

    FileStream? _file;
    string? _path;
    bool _directorySynced;
    int _durableFlushCount;

    public int MaxBatchLines => 1000;

    public long MaxBatchBytes => 1024 * 1024;

    public string? FilePath => Volatile.Read(ref _path);

    public int DurableFlushCount => Volatile.Read(ref _durableFlushCount);

    public Task WriteBatchAsync(IReadOnlyList<byte[]> lines, bool durable, CancellationToken cancellationToken)
    {
        var file = Open();
        var start = file.Length;
        try
        {
            file.Write(Join(lines));
            if (durable)
                Sync(file);
        }
        catch
        {
            CutBack(file, start);
            throw;
        }
        return Task.CompletedTask;
    }

    public Task FlushAsync(CancellationToken cancellationToken)
    {
        // After a failure closed the file, lines written before it may still be only in the page cache; an fsync
        // through a fresh handle reaches them, because it flushes the file, not the handle.
        if (FilePath is not null)
            Sync(Open());
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (_file is { } file)
        {
            _file = null;
            try
            {
                Sync(file);
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

        // The name carries the date the file was created, so it is fixed by the first open that succeeds.
        var path = _path ?? Path.Combine(directory, FileAuditTarget.FileNameFor(auditSession, clock.GetUtcNow()));
        var directoryExisted = Directory.Exists(directory);
        Directory.CreateDirectory(directory);
        if (!directoryExisted && Path.GetDirectoryName(directory) is { } parent)
            DirectorySync.Flush(parent);

        var existed = File.Exists(path);
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
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
        Volatile.Write(ref _path, path);
        return file;
    }

    void Sync(FileStream file)
    {
        file.Flush(flushToDisk: true);
        Interlocked.Increment(ref _durableFlushCount);
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

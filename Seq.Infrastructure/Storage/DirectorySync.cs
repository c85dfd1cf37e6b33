using System.Runtime.InteropServices;

namespace Seq.Infrastructure.Storage;

/// <summary>
/// Makes a directory's entries, or a file's data, durable, calling the C library directly. After a file is created
/// or renamed into place, the file's own fsync is not enough on Linux: until its directory is fsynced too, a crash
/// can lose the name; and .NET cannot open a directory as a stream. For files, .NET's
/// <c>FileStream.Flush(flushToDisk: true)</c> does not report a failed fsync on Linux (its native shim returns 1
/// instead of -1), so a caller that must know uses <see cref="FlushFile"/>.
/// </summary>
public static partial class DirectorySync
{
    const int ReadOnly = 0;
    const int Directory = 0x10000;   // O_DIRECTORY on Linux
    const int CloseOnExec = 0x80000; // O_CLOEXEC on Linux

    /// <exception cref="IOException">The directory could not be opened or synced.</exception>
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
            return;

        var descriptor = Open(directory, ReadOnly | Directory | CloseOnExec);
        if (descriptor < 0)
            throw new IOException($"The directory {directory} could not be opened to make its entries durable ({Describe(Marshal.GetLastPInvokeError())}).");
        try
        {
            if (Fsync(descriptor) != 0)
                throw new IOException($"The directory {directory} could not be synced to disk ({Describe(Marshal.GetLastPInvokeError())}).");
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    /// <summary>fdatasync(2) on an open file: its data, and the metadata needed to read it back (such as its length).</summary>
    /// <exception cref="IOException">The kernel reported that the data could not be written; see ADR 0009 for what that means for the file.</exception>
    public static void FlushFile(FileStream file)
    {
        ArgumentNullException.ThrowIfNull(file);
        file.Flush(flushToDisk: false);
        if (!OperatingSystem.IsLinux())
        {
            file.Flush(flushToDisk: true);
            return;
        }

        var handle = file.SafeFileHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (DataSync(handle.DangerousGetHandle().ToInt32()) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new FileSyncException($"The file {file.Name} could not be synced to disk ({Describe(errno)}).", errno);
            }
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    static string Describe(int errno) => $"errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)}";

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int DataSync(int descriptor);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}

/// <summary>An fsync or fdatasync failed: what was written since the last one that succeeded may be lost.</summary>
public sealed class FileSyncException(string message, int errno) : IOException(message)
{
    public int Errno { get; } = errno;
}

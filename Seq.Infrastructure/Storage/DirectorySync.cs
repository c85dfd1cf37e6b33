using System.Runtime.InteropServices;

namespace Seq.Infrastructure.Storage;

/// <summary>
/// Makes a directory's entries durable. After a file is created or renamed into place, the file's own fsync is
/// not enough on Linux: until its directory is fsynced too, a crash can lose the name. .NET cannot open a
/// directory as a stream, so this calls the C library directly.
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
            throw new IOException($"The directory {directory} could not be opened to make its entries durable (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(descriptor) != 0)
                throw new IOException($"The directory {directory} could not be synced to disk (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}

using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Seq.Infrastructure.Storage;

/// <summary>
/// An exclusive <c>flock(2)</c> on a file, which the kernel drops when the holder exits or dies, so a crash never leaves
/// a stale lock behind. The holder's process id is written into the file for whoever finds it taken.
/// </summary>
/// <remarks>
/// The file is opened with <c>open(2)</c> directly: a .NET <see cref="FileStream"/> takes a shared flock of its own,
/// which would fail against the holder's exclusive one and keep others from reading the holder's id; and it is opened
/// close-on-exec, so that a child such as the PostgreSQL postmaster (which outlives us) never inherits the lock.
/// </remarks>
public sealed partial class FileLock : IDisposable
{
    const int LockExclusive = 2;
    const int LockNonBlocking = 4;
    const int ReadOnly = 0;
    const int ReadWrite = 2;
    const int WouldBlock = 11;
    const int WouldBlockMacOs = 35;

    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    readonly SafeFileHandle _handle;

    FileLock(SafeFileHandle handle) => _handle = handle;

    /// <summary>
    /// Takes the lock if it is free; null when another process holds it. A file is created if need be and gets the
    /// holder's id; an existing directory is locked as it is, which leaves nothing behind in it.
    /// </summary>
    /// <exception cref="IOException">The file cannot be created or opened.</exception>
    public static FileLock? TryAcquire(string path)
    {
        var isDirectory = !OperatingSystem.IsWindows() && Directory.Exists(path);
        var handle = OpenCloseOnExec(path, isDirectory ? ReadOnly : ReadWrite, create: !isDirectory);
        if (OperatingSystem.IsWindows())
            return new FileLock(handle);

        if (Flock(handle.DangerousGetHandle().ToInt32(), LockExclusive | LockNonBlocking) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            if (errno is WouldBlock or WouldBlockMacOs)
                return null;
            throw new IOException($"{path} could not be locked (errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)}).");
        }

        var held = new FileLock(handle);
        if (!isDirectory)
            held.RecordHolder();
        return held;
    }

    /// <summary>Takes the lock, waiting up to <paramref name="timeout"/> for its holder to let go; null if it did not.</summary>
    public static async Task<FileLock?> AcquireAsync(string path, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (TryAcquire(path) is { } held)
                return held;
            if (DateTime.UtcNow >= deadline)
                return null;
            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>The process id written by the lock's last holder, or null when there is none to read.</summary>
    public static int? ReadHolder(string path)
    {
        try
        {
            using var handle = OpenCloseOnExec(path, ReadOnly, create: false);
            var buffer = new byte[32];
            var read = RandomAccess.Read(handle, buffer, 0);
            return int.TryParse(Encoding.ASCII.GetString(buffer, 0, read).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => _handle.Dispose();

    void RecordHolder()
    {
        var descriptor = _handle.DangerousGetHandle().ToInt32();
        var pid = Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
        // Only a hint for the error message of whoever finds the lock taken, so a failure to write it is not fatal.
        if (Truncate(descriptor, 0) == 0)
            RandomAccess.Write(_handle, pid, 0);
    }

    static SafeFileHandle OpenCloseOnExec(string path, int access, bool create)
    {
        if (OperatingSystem.IsWindows())
        {
            return File.OpenHandle(path, create ? FileMode.OpenOrCreate : FileMode.Open,
                access == ReadWrite ? FileAccess.ReadWrite : FileAccess.Read, access == ReadWrite ? FileShare.Read : FileShare.ReadWrite);
        }

        if (create && !File.Exists(path))
        {
            try
            {
                using var created = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.Write,
                    Share = FileShare.ReadWrite | FileShare.Delete,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            catch (IOException) when (File.Exists(path))
            {
                // Created and locked by someone else in the meantime; the open below sees it.
            }
        }

        var closeOnExec = OperatingSystem.IsMacOS() ? 0x1000000 : 0x80000;
        var descriptor = Open(path, access | closeOnExec);
        if (descriptor < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{path} could not be opened (errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)}).");
        }
        return new SafeFileHandle((nint)descriptor, ownsHandle: true);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int descriptor, int operation);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Truncate(int descriptor, long length);
}

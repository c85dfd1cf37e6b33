using System.Runtime.InteropServices;

namespace Seq.Infrastructure.Storage;

/// <summary>
/// Replaces a file so that it is either durably replaced or left as it was: the new contents go to a temporary file
/// beside it, which is fdatasynced (checked, see <see cref="DirectorySync.FlushFile"/>), renamed over the file, and
/// the directory fsynced. See ADR 0009.
/// </summary>
public static partial class DurableFile
{
    /// <param name="path">The file to create or replace.</param>
    /// <param name="mode">The new file's permissions, from its first byte (ignored on Windows).</param>
    /// <param name="write">Writes the new contents; the stream is synced and closed afterwards.</param>
    /// <exception cref="IOException">
    /// The new contents could not be written or made durable. The message says whether the file at
    /// <paramref name="path"/> is as it was (the old file, or none if there was none), which it is unless the old file
    /// could not be given a second name to restore it from.
    /// </exception>
    public static void Replace(string path, UnixFileMode mode, Action<FileStream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);

        path = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(path)!;
        var name = Path.GetFileName(path);
        var unique = Guid.NewGuid().ToString("N");
        var temporary = Path.Combine(directory, $".{name}.{unique}.tmp");
        var existed = File.Exists(path);
        var asItWas = existed ? $"{path} is unchanged." : $"{path} was not created.";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = mode;

        try
        {
            using var file = new FileStream(temporary, options);
            write(file);
            DirectorySync.FlushFile(file);
        }
        catch (Exception e)
        {
            File.Delete(temporary);
            if (e is IOException)
                throw new IOException($"{asItWas} {e.Message}", e);
            throw;
        }

        // Until the directory is synced the rename may not survive a crash, and if that sync fails the replacement
        // must not stay in place as though it were saved. A second name for the old file lets it be put back.
        var kept = Path.Combine(directory, $".{name}.{unique}.old");
        var keptOld = existed && OperatingSystem.IsLinux() && Link(path, kept) == 0;
        try
        {
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e)
        {
            File.Delete(temporary);
            if (keptOld)
                File.Delete(kept);
            if (e is IOException)
                throw new IOException($"{asItWas} {e.Message}", e);
            throw;
        }

        try
        {
            DirectorySync.Flush(directory);
        }
        catch (IOException e)
        {
            if (keptOld)
                File.Move(kept, path, overwrite: true);
            else if (!existed)
                File.Delete(path);
            else
                throw new IOException($"{path} was replaced, but the replacement may not survive a crash. {e.Message}", e);
            throw new IOException($"{asItWas} {e.Message}", e);
        }

        if (keptOld)
            File.Delete(kept);
    }

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string created);
}

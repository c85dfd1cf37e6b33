namespace Seq.Infrastructure.Storage;

/// <summary>Another process holds the storage root, or it cannot be locked. The message is one line and names the root.</summary>
public sealed class StorageRootLockException(string message) : Exception(message);

/// <summary>
/// One server per storage root: the running server holds <c>{storageRoot}/.lock</c> for its whole run, so that a second
/// server on the same root refuses to start instead of taking over the first one's cluster and files.
/// </summary>
public static class StorageRootLock
{
    public const string FileName = ".lock";

    /// <summary>Holds the storage root until disposed; creates the root if it does not exist yet.</summary>
    /// <exception cref="StorageRootLockException">Another server runs on this storage root, or it cannot be locked.</exception>
    public static IDisposable Acquire(string storageRoot)
    {
        var path = Path.Combine(storageRoot, FileName);
        FileLock? held;
        try
        {
            Directory.CreateDirectory(storageRoot);
            held = FileLock.TryAcquire(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageRootLockException($"The storage root {storageRoot} cannot be locked through {path}: {e.Message}");
        }
        return held ?? throw new StorageRootLockException(
            $"The storage root {storageRoot} is in use by another seqsvr ({Holder(path)}): stop that server first, or give this one another --storage.");
    }

    static string Holder(string path) => FileLock.ReadHolder(path) is { } pid ? $"process {pid}" : "a process whose id it has not recorded yet";
}

/// <summary>
/// <c>Seq.json</c> is read, changed and written back under a lock on the directory that holds it (the storage root),
/// held only for that long, so that two concurrent <c>seqsvr config set</c> runs cannot lose one another's change. The
/// directory is locked rather than a file beside <c>Seq.json</c>, which would be left behind in the root; it is not
/// the running server's lock, so settings can be changed while it runs.
/// </summary>
public static class ConfigurationFileLock
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <exception cref="IOException">Another process held the lock for longer than the wait.</exception>
    public static IDisposable Acquire(string configurationFile)
    {
        var path = OperatingSystem.IsWindows() ? configurationFile + ".lock" : Path.GetDirectoryName(Path.GetFullPath(configurationFile))!;
        return FileLock.AcquireAsync(path, Wait).GetAwaiter().GetResult()
            ?? throw new IOException($"Another process has been changing {configurationFile} for over {Wait.TotalSeconds:0} seconds.");
    }
}

using System.IO.Compression;
using System.Security.Cryptography;
using Seq.Infrastructure.Security;
using Seq.Infrastructure.Storage;

namespace Seq.Infrastructure.Backups;

/// <summary>A complete backup file in the backup location.</summary>
public sealed record BackupFile(string Id, string FileName, string FullPath, DateTimeOffset CreatedAt, string KeyId, long SizeInBytes);

/// <summary>
/// The <c>.seqbac</c> files of one backup location. A backup is written under a hidden temporary name, synced, renamed
/// into place and the directory synced, so that only a complete file ever carries the <c>.seqbac</c> name; a process
/// killed mid-backup leaves a hidden <c>.tmp</c> file that nothing lists or restores.
/// </summary>
public sealed class BackupFiles(string directory)
{
    public const string Extension = ".seqbac";
    const string TemporaryExtension = ".tmp";
    const int CompressionBlockSize = 256 * 1024;
    const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>Every backup whose header can be read, newest first.</summary>
    public IReadOnlyList<BackupFile> List()
    {
        if (!System.IO.Directory.Exists(Directory))
            return [];
        var files = new List<BackupFile>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension))
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith('.') || !name.EndsWith(Extension, StringComparison.Ordinal))
                continue;
            if (Describe(path) is { } file)
                files.Add(file);
        }
        return [.. files.OrderByDescending(f => f.CreatedAt).ThenByDescending(f => f.FileName, StringComparer.Ordinal)];
    }

    /// <summary>The backup with this id (its file name without the extension), found among the files listed: a given id never becomes a path.</summary>
    public BackupFile? Find(string id) => List().FirstOrDefault(f => string.Equals(f.Id, id, StringComparison.Ordinal));

    public static BackupFile? Describe(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 4096);
            var (header, _) = BackupHeader.Read(stream, Path.GetFileName(path));
            var name = Path.GetFileName(path);
            return new BackupFile(Path.GetFileNameWithoutExtension(name), name, path, header.CreatedAt, header.KeyId, stream.Length);
        }
        catch (Exception e) when (e is BackupFileException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes a new backup: <paramref name="writeContent"/> writes the plain content, which is compressed and encrypted on its way to disk.</summary>
    public async Task<BackupFile> WriteAsync(SecretKey key, DateTimeOffset createdAt, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var name = $"seq-backup-{createdAt.UtcDateTime:yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}{Extension}";
        var path = Path.Combine(Directory, name);
        var temporary = Path.Combine(Directory, $".{name}{TemporaryExtension}");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 64 * 1024 };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = OwnerReadWrite;

        try
        {
            await using (var file = new FileStream(temporary, options))
            {
                using var encrypting = new BackupEncryptingStream(file, key, BackupHeader.New(key, createdAt));
                // Brotli's fastest qualities compress each write on its own, with a fresh dictionary: lines written one by
                // one barely compressed (482 bytes per metadata event). Large writes let it find the repetition.
                await using (var compressing = new BrotliStream(encrypting, CompressionLevel.Fastest, leaveOpen: true))
                await using (var buffered = new BufferedStream(compressing, CompressionBlockSize))
                    await writeContent(buffered, cancellationToken);
                encrypting.Complete();
                DirectorySync.FlushFile(file);
            }
            File.Move(temporary, path, overwrite: false);
            DirectorySync.Flush(Directory);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        return Describe(path) ?? throw new IOException($"The backup {path} was written but cannot be read back.");
    }

    /// <summary>Deletes the oldest backups beyond <paramref name="keep"/>; called only once a new one is complete.</summary>
    public IReadOnlyList<BackupFile> Prune(int keep)
    {
        var deleted = List().Skip(Math.Max(keep, 1)).ToList();
        foreach (var file in deleted)
            File.Delete(file.FullPath);
        DeleteAbandonedTemporaries();
        if (deleted.Count > 0)
            DirectorySync.Flush(Directory);
        return deleted;
    }

    // What a process killed mid-backup left; a day old, so that no backup still being written is touched.
    void DeleteAbandonedTemporaries()
    {
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "." + "*" + Extension + TemporaryExtension))
        {
            if (File.GetLastWriteTimeUtc(path) < DateTime.UtcNow.AddDays(-1))
                File.Delete(path);
        }
    }
}

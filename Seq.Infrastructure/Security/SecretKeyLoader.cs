using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

using Seq.Infrastructure.Storage;

namespace Seq.Infrastructure.Security;

/// <summary>
/// Finds the instance's secret key: from the provider program if one is configured, else from <c>{storageRoot}/SecretKey</c>,
/// else from <c>SEQ_STORAGE_SECRETKEY</c> or a new random key, which is then kept in that file so that later starts use it.
/// </summary>
public static class SecretKeyLoader
{
    public const string KeyFileName = "SecretKey";

    const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    const string SecretKeySetting = SecretKeyOptions.SecretKeySetting;

    public static async Task<SecretKey> LoadAsync(string storageRoot, SecretKeyOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(storageRoot);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);

        var keyFile = Path.Combine(storageRoot, KeyFileName);
        var configured = options.ConfiguredKey is null ? null : ParseConfiguredKey(options.ConfiguredKey);

        if (options.ProviderPath is not null)
        {
            var provided = await SecretKeyProvider.RunAsync(options.ProviderPath, options.ProviderArguments, options.ProviderTimeout, cancellationToken);
            if (configured is not null && !configured.Matches(provided))
                throw new SecretKeyException(
                    $"{SecretKeySetting} (secret key {configured.KeyId}) and the secret key provider (secret key {provided.KeyId}) " +
                    "disagree. Set only one of them.");
            if (File.Exists(keyFile))
                EnsureSame(ReadKeyFile(keyFile, logger), provided, "the secret key provider", "Make the provider print the original key");
            logger.LogInformation("Using secret key {SecretKeyId} from the secret key provider", provided.KeyId);
            return provided;
        }

        if (File.Exists(keyFile))
            return UseKeyFile(keyFile, configured, logger);

        var key = configured ?? SecretKey.Generate();
        // False when another process sharing the storage root created the file first; its key is the one in use.
        if (!await TryCreateKeyFileAsync(storageRoot, keyFile, key, cancellationToken))
            return UseKeyFile(keyFile, configured, logger);

        if (configured is not null)
            logger.LogInformation("Stored secret key {SecretKeyId} from {SecretKeySetting} in {SecretKeyFile}", key.KeyId, SecretKeySetting, keyFile);
        else
            logger.LogInformation(
                "Generated secret key {SecretKeyId} and stored it in {SecretKeyFile}; backups cannot be restored without it, so save it " +
                "somewhere safe (`seqsvr show-key` prints it)", key.KeyId, keyFile);
        return key;
    }

    static SecretKey UseKeyFile(string keyFile, SecretKey? configured, ILogger logger)
    {
        var stored = ReadKeyFile(keyFile, logger);
        if (configured is not null)
            EnsureSame(stored, configured, SecretKeySetting, $"Start the server with the original key, or without {SecretKeySetting}");
        logger.LogInformation("Using secret key {SecretKeyId} from {SecretKeyFile}", stored.KeyId, keyFile);
        return stored;
    }

    static SecretKey ParseConfiguredKey(string text)
    {
        try
        {
            return SecretKey.FromBase64(text);
        }
        catch (SecretKeyException e)
        {
            throw new SecretKeyException($"{SecretKeySetting} is not a valid secret key. {e.Message}");
        }
    }

    static void EnsureSame(SecretKey stored, SecretKey given, string source, string remedy)
    {
        if (stored.Matches(given))
            return;

        throw new SecretKeyException(
            $"The storage was initialized with a different secret key: {KeyFileName} under the storage root holds secret key {stored.KeyId}, " +
            $"but {source} gives secret key {given.KeyId}. {remedy}.");
    }

    static SecretKey ReadKeyFile(string keyFile, ILogger logger)
    {
        WarnIfReadableByOthers(keyFile, logger);

        string text;
        try
        {
            text = File.ReadAllText(keyFile, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SecretKeyException($"The secret key file {keyFile} could not be read: {e.Message}");
        }

        try
        {
            return SecretKey.FromBase64(text);
        }
        catch (SecretKeyException)
        {
            throw new SecretKeyException($"The secret key file {keyFile} does not hold a valid secret key (32 bytes encoded in base64).");
        }
    }

    static void WarnIfReadableByOthers(string keyFile, ILogger logger)
    {
        if (OperatingSystem.IsWindows())
            return;

        var mode = File.GetUnixFileMode(keyFile);
        if ((mode & ~OwnerReadWrite) != 0)
            logger.LogWarning(
                "The secret key file {SecretKeyFile} is accessible to others than its owner (mode {FileMode}); restrict it with `chmod 600`",
                keyFile, Convert.ToString((int)mode, 8).PadLeft(4, '0'));
    }

    static async Task<FileStream> AcquireCreationLockAsync(string storageRoot, CancellationToken cancellationToken)
    {
        var path = Path.Combine(storageRoot, $".{KeyFileName}.lock");
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = OwnerReadWrite;

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(path, options);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(10, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SecretKeyException($"The secret key file could not be created: {path} stayed locked by another process ({e.Message}).");
            }
        }
    }

    /// <summary>Writes the key file atomically, owner-only from its first byte; false when the file already exists.</summary>
    static async Task<bool> TryCreateKeyFileAsync(string storageRoot, string keyFile, SecretKey key, CancellationToken cancellationToken)
    {
        try
        {
            // The key file itself is owner-only. The storage root must stay traversable: as root, the private
            // PostgreSQL cluster below it runs as the 'postgres' user, which has to reach its data directory.
            Directory.CreateDirectory(storageRoot);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SecretKeyException($"The storage root {storageRoot} could not be created to keep the secret key in: {e.Message}");
        }

        // File.Move without overwrite is a check and then a rename on Unix, not one atomic step, so two processes
        // initializing the same root could both "win" and the later rename would replace the key the earlier one
        // is already using. An exclusive lock around the check and the rename makes the first writer the only one.
        using var creation = await AcquireCreationLockAsync(storageRoot, cancellationToken);
        if (File.Exists(keyFile))
            return false;

        var temporary = Path.Combine(storageRoot, $".{KeyFileName}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = OwnerReadWrite;

            var contents = Encoding.ASCII.GetBytes(key.ToBase64() + "\n");
            try
            {
                using var file = new FileStream(temporary, options);
                file.Write(contents);
                // Checked: FileStream.Flush(flushToDisk: true) does not report a failed fsync on Linux (ADR 0009).
                DirectorySync.FlushFile(file);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(contents);
            }

            // Without overwriting, so that of two processes initializing the same storage root at once, exactly one wins.
            File.Move(temporary, keyFile, overwrite: false);
        }
        catch (FileSyncException e)
        {
            throw new SecretKeyException($"The secret key file {keyFile} could not be written, so no key was stored: {e.Message}");
        }
        catch (IOException) when (File.Exists(keyFile))
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SecretKeyException($"The secret key file {keyFile} could not be written: {e.Message}");
        }
        finally
        {
            File.Delete(temporary);
        }

        try
        {
            DirectorySync.Flush(storageRoot);
        }
        catch (IOException e)
        {
            // The key's name may not survive a crash; nothing has been encrypted with it yet, so it is taken back (still
            // under the creation lock) rather than used, and the next start makes a new one.
            File.Delete(keyFile);
            throw new SecretKeyException($"The secret key file {keyFile} could not be made durable, so no key was stored: {e.Message}");
        }
        return true;
    }
}

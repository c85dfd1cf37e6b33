using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using Seq.Application.Backups;
using Seq.Application.Settings;
using Seq.Domain;
using Seq.Domain.Settings;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Backups;

/// <summary>Where this node keeps its backups; null when it has none (a server built without a storage root).</summary>
public sealed record BackupOptions(string? Location);

/// <summary>Makes, lists and opens this node's backups. One backup at a time per node.</summary>
public sealed class BackupService(
    BackupOptions options, NpgsqlDataSource dataSource, SecretKey key, ISettingsReadModel settings, TimeProvider clock, ILogger<BackupService> logger) : IBackups
{
    readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public BackupFiles? Files { get; } = options.Location is null ? null : new BackupFiles(options.Location);

    public Task<IReadOnlyList<BackupView>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<BackupView>>([.. (Files?.List() ?? []).Select(View)]);

    public async Task<BackupView> CreateAsync(CancellationToken cancellationToken) => View(await CreateFileAsync(cancellationToken));

    public async Task<BackupFile> CreateFileAsync(CancellationToken cancellationToken)
    {
        var files = Files ?? throw new DomainException("This server has no backup location (storage.backupLocation), so it makes no backups.");
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            long streams = 0, events = 0;
            var file = await files.WriteAsync(key, clock.GetUtcNow(), async (content, token) =>
                (streams, events) = await BackupSnapshot.WriteAsync(dataSource, content, token), cancellationToken);
            var keep = await BackupsToKeepAsync(cancellationToken);
            var deleted = files.Prune(keep);
            logger.LogInformation("Backed up {StreamCount} streams and {EventCount} events to {BackupFile} ({FileSizeBytes} bytes); {DeletedCount} older backups deleted to keep {BackupsToKeep}",
                streams, events, file.FileName, file.SizeInBytes, deleted.Count, keep);
            return file;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    public Task<BackupDownload?> OpenAsync(string id, CancellationToken cancellationToken)
    {
        if (Files?.Find(id) is not { } file)
            return Task.FromResult<BackupDownload?>(null);
        Stream content = new FileStream(file.FullPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, useAsync: true);
        return Task.FromResult<BackupDownload?>(new BackupDownload(View(file), content));
    }

    async Task<int> BackupsToKeepAsync(CancellationToken cancellationToken)
    {
        var changed = await settings.GetChangedValuesAsync(cancellationToken);
        return int.Parse(changed.GetValueOrDefault(SettingCatalogue.BackupsToKeep.Name) ?? SettingCatalogue.BackupsToKeep.DefaultValue, CultureInfo.InvariantCulture);
    }

    static BackupView View(BackupFile file) => new(file.Id, file.CreatedAt, file.FileName, file.SizeInBytes);
}

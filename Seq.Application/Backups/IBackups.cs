namespace Seq.Application.Backups;

/// <summary>A backup as the API shows it (Seq's BackupEntity).</summary>
public sealed record BackupView(string Id, DateTimeOffset CreatedAt, string Filename, long FileSizeBytes);

/// <summary>An open backup file to send; the receiver disposes <see cref="Content"/>.</summary>
public sealed record BackupDownload(BackupView Backup, Stream Content);

/// <summary>The server's backups: encrypted <c>.seqbac</c> files of all metadata, in the host's backup location.</summary>
public interface IBackups
{
    Task<IReadOnlyList<BackupView>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Makes a backup now from one consistent snapshot, then applies retention.</summary>
    Task<BackupView> CreateAsync(CancellationToken cancellationToken);

    /// <summary>Opens the backup with this id for reading; null if there is none.</summary>
    Task<BackupDownload?> OpenAsync(string id, CancellationToken cancellationToken);
}

using MediatR;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Backups;

[Demands(Permission.System)]
[Audited("Backup", "Create", BeginTemplate = "Beginning a backup")]
public sealed record CreateBackupCommand : IRequest<CreateBackupResult>;

public sealed record CreateBackupResult(BackupView Backup) : IAuditedResult
{
    public IEnumerable<KeyValuePair<string, object?>> AuditProperties =>
    [
        new("BackupId", Backup.Id),
        new("FileSizeBytes", Backup.FileSizeBytes),
    ];
}

sealed class CreateBackupHandler(IBackups backups) : IRequestHandler<CreateBackupCommand, CreateBackupResult>
{
    public async Task<CreateBackupResult> Handle(CreateBackupCommand request, CancellationToken cancellationToken) =>
        new(await backups.CreateAsync(cancellationToken));
}

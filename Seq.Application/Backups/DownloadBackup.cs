using FluentValidation;
using MediatR;
using Seq.Application.Auditing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Backups;

/// <summary>One Record, durable before the handler opens the file and so before the first byte is sent.</summary>
[Demands(Permission.System)]
[Audited("Backup", "Download", Single = true, BeginTemplate = "Downloading backup {BackupId}")]
public sealed record DownloadBackupCommand([property: AuditProperty(Name = "BackupId")] string Id) : IRequest<BackupDownload>;

public sealed class DownloadBackupValidator : AbstractValidator<DownloadBackupCommand>
{
    public DownloadBackupValidator() => RuleFor(c => c.Id).NotEmpty().MaximumLength(200);
}

sealed class DownloadBackupHandler(IBackups backups) : IRequestHandler<DownloadBackupCommand, BackupDownload>
{
    public async Task<BackupDownload> Handle(DownloadBackupCommand request, CancellationToken cancellationToken) =>
        await backups.OpenAsync(request.Id, cancellationToken) ?? throw new NotFoundException($"There is no backup with id {request.Id}.");
}

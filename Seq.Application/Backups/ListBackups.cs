using MediatR;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Backups;

[Demands(Permission.System)]
public sealed record ListBackupsQuery : IRequest<IReadOnlyList<BackupView>>;

sealed class ListBackupsHandler(IBackups backups) : IRequestHandler<ListBackupsQuery, IReadOnlyList<BackupView>>
{
    public Task<IReadOnlyList<BackupView>> Handle(ListBackupsQuery request, CancellationToken cancellationToken) => backups.ListAsync(cancellationToken);
}

[Demands(Permission.System)]
public sealed record GetBackupQuery(string Id) : IRequest<BackupView>;

sealed class GetBackupHandler(IBackups backups) : IRequestHandler<GetBackupQuery, BackupView>
{
    public async Task<BackupView> Handle(GetBackupQuery request, CancellationToken cancellationToken) =>
        (await backups.ListAsync(cancellationToken)).FirstOrDefault(b => b.Id == request.Id)
        ?? throw new NotFoundException($"There is no backup with id {request.Id}.");
}

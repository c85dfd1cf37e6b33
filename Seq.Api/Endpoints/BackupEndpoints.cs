using System.Globalization;
using MediatR;
using Seq.Application.Backups;
using Seq.Domain.Security;

namespace Seq.Api.Endpoints;

static class BackupEndpoints
{
    public static void MapBackupEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/backups");

        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string> { ["Items"] = "api/backups", ["Item"] = "api/backups/{id}", ["Immediate"] = "api/backups/immediate" },
        })).Demands(Permission.System);

        group.MapGet("/", async (IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok((await mediator.Send(new ListBackupsQuery(), cancellationToken)).Select(ToEntity))).Demands(Permission.System);

        group.MapGet("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetBackupQuery(id), cancellationToken)))).Demands(Permission.System);

        // The Record is durable before the handler opens the file, so before the first byte goes out.
        group.MapGet("/{id}/download", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var download = await mediator.Send(new DownloadBackupCommand(id), cancellationToken);
            return Results.Stream(download.Content, "application/octet-stream", download.Backup.Filename);
        }).Demands(Permission.System);

        group.MapPost("/immediate", async (IMediator mediator, CancellationToken cancellationToken) =>
        {
            var created = await mediator.Send(new CreateBackupCommand(), cancellationToken);
            return Results.Created($"/api/backups/{created.Backup.Id}", ToEntity(created.Backup));
        }).Demands(Permission.System);
    }

    static object ToEntity(BackupView backup) => new
    {
        backup.Id,
        CreatedAt = backup.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        backup.Filename,
        backup.FileSizeBytes,
        Links = new Dictionary<string, string> { ["Self"] = $"api/backups/{backup.Id}", ["Download"] = $"api/backups/{backup.Id}/download" },
    };
}

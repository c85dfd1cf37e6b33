using MediatR;
using Seq.Application.Roles;
using Seq.Domain.Security;

namespace Seq.Api.Endpoints;

static class RoleEndpoints
{
    public static void MapRoleEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/roles");

        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string> { ["Items"] = "api/roles", ["Item"] = "api/roles/{id}" },
        })).Demands(Permission.Public);

        group.MapGet("/", async (IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok((await mediator.Send(new ListRolesQuery(), cancellationToken)).Select(ToEntity))).Demands(Permission.Read);

        group.MapGet("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetRoleQuery(id), cancellationToken)))).Demands(Permission.Read);
    }

    static object ToEntity(Role role) => new
    {
        role.Id,
        role.Title,
        Permissions = role.Permissions.Order().Select(p => p.ToString()),
        Links = new Dictionary<string, string> { ["Self"] = $"api/roles/{role.Id}" },
    };
}

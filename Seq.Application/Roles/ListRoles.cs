using Seq.Application.Security;
using MediatR;
using Seq.Application.Pipeline;
using Seq.Domain.Security;

namespace Seq.Application.Roles;

[Demands(Permission.Read)]
public sealed record ListRolesQuery : IRequest<IReadOnlyList<Role>>;

sealed class ListRolesHandler : IRequestHandler<ListRolesQuery, IReadOnlyList<Role>>
{
    public Task<IReadOnlyList<Role>> Handle(ListRolesQuery request, CancellationToken cancellationToken) => Task.FromResult(BuiltInRoles.All);
}

[Demands(Permission.Read)]
public sealed record GetRoleQuery(string Id) : IRequest<Role>;

sealed class GetRoleHandler : IRequestHandler<GetRoleQuery, Role>
{
    public Task<Role> Handle(GetRoleQuery request, CancellationToken cancellationToken) =>
        Task.FromResult(BuiltInRoles.Find(request.Id) ?? throw new NotFoundException($"There is no role with id {request.Id}."));
}

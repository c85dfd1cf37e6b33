using MediatR;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Users;

[Demands(Permission.Organization)]
public sealed record GetUserQuery(string Id) : IRequest<UserView>;

sealed class GetUserHandler(IUserReadModel users) : IRequestHandler<GetUserQuery, UserView>
{
    public async Task<UserView> Handle(GetUserQuery request, CancellationToken cancellationToken) =>
        await users.FindAsync(request.Id, cancellationToken) ?? throw new NotFoundException($"There is no user with id {request.Id}.");
}

using MediatR;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Users;

/// <summary>The caller's own user: the logged-in user, or the owner of the personal API key in use.</summary>
[Demands(Permission.Public, User = true)]
public sealed record GetCurrentUserQuery : IRequest<UserView>;

sealed class GetCurrentUserHandler(IUserReadModel users, OperationContext operation) : IRequestHandler<GetCurrentUserQuery, UserView>
{
    public async Task<UserView> Handle(GetCurrentUserQuery request, CancellationToken cancellationToken) =>
        await users.FindAsync(operation.Principal.UserId!, cancellationToken) ?? throw new AuthenticationRequiredException("The user no longer exists.");
}

using MediatR;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Users;

[Demands(Permission.Organization)]
public sealed record ListUsersQuery : IRequest<IReadOnlyList<UserView>>;

sealed class ListUsersHandler(IUserReadModel users) : IRequestHandler<ListUsersQuery, IReadOnlyList<UserView>>
{
    public Task<IReadOnlyList<UserView>> Handle(ListUsersQuery request, CancellationToken cancellationToken) => users.ListAsync(cancellationToken);
}

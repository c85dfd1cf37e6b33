using MediatR;
using Seq.Application.Auditing;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain;
using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Application.Users;

[Demands(Permission.Organization)]
[Audited("User", "Delete", BeginTemplate = "Beginning deletion of user {UserId}")]
public sealed record DeleteUserCommand([property: AuditProperty(Name = "UserId")] string Id) : IRequest<Unit>;

sealed class DeleteUserHandler(IEventStore store, OperationContext operation, TimeProvider clock) : IRequestHandler<DeleteUserCommand, Unit>
{
    public async Task<Unit> Handle(DeleteUserCommand request, CancellationToken cancellationToken)
    {
        var streamId = User.StreamIdFor(request.Id);
        var (user, version) = await store.LoadAsync<User>(streamId, cancellationToken);
        if (!user.Exists)
            throw new NotFoundException($"There is no user with id {request.Id}.");
        if (user.Id == operation.Principal.UserId)
            throw new DomainException("Users cannot delete themselves; another administrator must.");
        UserRules.RequireCallerHolds(operation.Principal, user.RoleIds, "Deleting this user");

        await store.AppendAsync(streamId, User.StreamType, version, user.Delete(clock.GetUtcNow()), cancellationToken);
        return Unit.Value;
    }
}

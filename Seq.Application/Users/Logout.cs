using MediatR;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Users;

/// <summary>Ends the caller's session, if the request carries one; logging out twice is not an error.</summary>
[Demands(Permission.Public)]
[Audited("User", "Logout")]
public sealed record LogoutCommand(string? SessionToken) : IRequest<Unit>
{
    public override string ToString() => nameof(LogoutCommand);
}

sealed class LogoutHandler(ISessions sessions) : IRequestHandler<LogoutCommand, Unit>
{
    public async Task<Unit> Handle(LogoutCommand request, CancellationToken cancellationToken)
    {
        if (request.SessionToken is not null)
            await sessions.EndAsync(request.SessionToken, cancellationToken);
        return Unit.Value;
    }
}

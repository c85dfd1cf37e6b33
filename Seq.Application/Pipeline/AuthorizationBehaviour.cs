using System.Reflection;
using MediatR;
using Seq.Application.Security;

namespace Seq.Application.Pipeline;

/// <summary>Checks the permission the request type demands against the principal of the operation, before validation and the handler.</summary>
sealed class AuthorizationBehaviour<TRequest, TResponse>(OperationContext operation) : IPipelineBehavior<TRequest, TResponse>
{
    static readonly DemandsAttribute? Demand = typeof(TRequest).GetCustomAttribute<DemandsAttribute>();

    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        Authorization.Check(Demand, typeof(TRequest), operation.Principal);
        return next();
    }
}

public static class Authorization
{
    /// <summary>Throws unless <paramref name="principal"/> satisfies <paramref name="demand"/>; no demand at all is a refusal.</summary>
    public static void Check(DemandsAttribute? demand, Type requestType, Principal principal)
    {
        if (demand is null)
            throw new InvalidOperationException($"{requestType.Name} declares no permission ([Demands]), so it is refused.");
        Check(demand.Permission, demand.User, principal);
    }

    public static void Check(Domain.Security.Permission permission, bool requiresUser, Principal principal)
    {
        if (principal.Has(permission) && (!requiresUser || principal.UserId is not null))
            return;
        if (!principal.IsAuthenticated)
            throw new AuthenticationRequiredException();
        throw new AccessDeniedException(requiresUser && principal.UserId is null
            ? "This operation acts on a user account; it needs a logged-in user or a personal API key."
            : $"This operation needs the {permission} permission, which the caller does not hold.");
    }
}

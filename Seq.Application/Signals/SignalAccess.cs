using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Domain.Signals;

namespace Seq.Application.Signals;

/// <summary>Who may see and change which signals (issue 13): shared ones need Write to change, protected ones Project; personal ones are their owner's.</summary>
public static class SignalAccess
{
    public static bool CanSee(Principal principal, string? ownerId) =>
        ownerId is null || ownerId == principal.UserId || principal.Has(Permission.System);

    public static NotFoundException NotFound(string id) => new($"There is no signal with id {id}.");

    /// <summary>Refuses a change to a signal owned by <paramref name="ownerId"/> that is or becomes protected as given.</summary>
    public static void RequireChangeable(Principal principal, string? ownerId, bool isProtected)
    {
        if (ownerId is not null && ownerId != principal.UserId)
            throw new AccessDeniedException("A personal signal can only be changed by its owner.");
        if (ownerId is null && !principal.Has(Permission.Write))
            throw new AccessDeniedException("Changing a shared signal requires the Write permission.");
        if (isProtected && !principal.Has(Permission.Project))
            throw new AccessDeniedException("Changing a protected signal, or protecting one, requires the Project permission.");
    }
}

using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

/// <summary>Who may see a key and what they may give one; the handlers apply these to the operation's principal.</summary>
static class ApiKeyAccess
{
    /// <summary>
    /// Organization administrators see every key; Project holders also see the shared keys (they may create them);
    /// everyone else sees only their own personal keys.
    /// </summary>
    public static bool CanSee(Principal principal, string? ownerId) =>
        principal.Has(Permission.Organization) || ownerId is null && principal.Has(Permission.Project) || ownerId is not null && ownerId == principal.UserId;

    public static NotFoundException NotFound(string id) => new($"There is no API key with id {id}.");

    /// <summary>A key may carry only permissions its creator holds, so that making a key never escalates privilege.</summary>
    public static void RequireAssignable(Principal principal, IEnumerable<Permission> permissions)
    {
        foreach (var permission in permissions.Distinct().Order())
        {
            if (!principal.Has(permission))
                throw new AccessDeniedException($"An API key cannot be given the {permission} permission, because the caller does not hold it.");
        }
    }

    /// <summary>
    /// A key may be changed or deleted only by a caller who holds every permission it carries now, so that a less
    /// privileged administrator cannot disarm or rewrite a more powerful credential. Its owner, signed in as a user,
    /// may always delete it: revoking one's own key (a leaked one, say) never raises anyone's privilege. A key acting
    /// for its owner does not count as the owner here, or a leaked weak key could delete its owner's strong ones.
    /// </summary>
    public static void RequireHeld(Principal principal, ApiKey key, bool deleting)
    {
        if (deleting && principal.Type == PrincipalType.User && key.OwnerId is not null && key.OwnerId == principal.UserId)
            return;
        foreach (var permission in key.AssignedPermissions.Order())
        {
            if (!principal.Has(permission))
                throw new AccessDeniedException(
                    $"This API key carries the {permission} permission, which the caller does not hold, so the caller cannot {(deleting ? "delete" : "change")} it.");
        }
    }

    /// <summary>A shared key needs Project, as in Seq; a personal key can only be made for the caller's own user.</summary>
    public static void RequireOwnerAllowed(Principal principal, string? ownerId)
    {
        if (ownerId is null)
        {
            if (!principal.Has(Permission.Project))
                throw new AccessDeniedException("Creating a shared API key (one without an owner) needs the Project permission.");
            return;
        }
        if (ownerId != principal.UserId)
            throw new AccessDeniedException("A personal API key can only be created for the caller's own user.");
    }
}

using Seq.Application.Security;
using Seq.Application.Pipeline;
using Seq.Domain.Security;

namespace Seq.Tests.Security;

/// <summary>
/// The pipeline's check on its own, without the endpoint's check in front of it: every request passes through it,
/// including those sent by the command line and background work, where no endpoint filter runs.
/// </summary>
public sealed class AuthorizationTests
{
    static readonly HashSet<Permission> All = [.. Enum.GetValues<Permission>()];

    static readonly Principal User = new(PrincipalType.User, "alice", "user-1", null, All);
    static readonly Principal PersonalKey = new(PrincipalType.ApiKey, "alice's key", "apikey-1", "user-1", All);
    static readonly Principal SharedKey = new(PrincipalType.ApiKey, "shared key", "apikey-2", null, All);
    static readonly Principal Reader = new(PrincipalType.User, "bob", "user-2", null, new HashSet<Permission> { Permission.Public, Permission.Read });

    [Fact]
    public void A_user_only_operation_is_allowed_to_a_user_and_to_a_personal_key()
    {
        Should.NotThrow(() => Authorization.Check(Permission.Public, requiresUser: true, User));
        Should.NotThrow(() => Authorization.Check(Permission.Public, requiresUser: true, PersonalKey));
    }

    [Fact]
    public void A_user_only_operation_is_refused_to_a_shared_key_holding_every_permission_saying_it_needs_a_user()
    {
        var refusal = Should.Throw<AccessDeniedException>(() => Authorization.Check(Permission.Public, requiresUser: true, SharedKey));

        refusal.Message.ShouldBe("This operation acts on a user account; it needs a logged-in user or a personal API key.");
    }

    [Fact]
    public void An_operation_that_needs_no_user_is_allowed_to_a_shared_key_with_the_permission()
    {
        Should.NotThrow(() => Authorization.Check(Permission.Organization, requiresUser: false, SharedKey));
    }

    [Fact]
    public void A_missing_permission_is_refused_naming_the_permission_even_when_a_user_is_also_required()
    {
        Should.Throw<AccessDeniedException>(() => Authorization.Check(Permission.System, requiresUser: false, Reader))
            .Message.ShouldBe("This operation needs the System permission, which the caller does not hold.");
        Should.Throw<AccessDeniedException>(() => Authorization.Check(Permission.Organization, requiresUser: true, Reader))
            .Message.ShouldBe("This operation needs the Organization permission, which the caller does not hold.");
    }

    [Fact]
    public void An_anonymous_caller_is_asked_to_authenticate_and_an_unrestricted_instance_still_has_no_user()
    {
        Should.Throw<AuthenticationRequiredException>(() => Authorization.Check(Permission.Read, requiresUser: false, Principal.Anonymous));
        Should.NotThrow(() => Authorization.Check(Permission.System, requiresUser: false, Principal.Unrestricted));
        Should.Throw<AuthenticationRequiredException>(() => Authorization.Check(Permission.Public, requiresUser: true, Principal.Unrestricted));
    }

    [Fact]
    public void A_request_type_without_a_demand_is_refused_naming_it()
    {
        Should.Throw<InvalidOperationException>(() => Authorization.Check(demand: null, typeof(AuthorizationTests), User))
            .Message.ShouldContain(nameof(AuthorizationTests));
    }
}

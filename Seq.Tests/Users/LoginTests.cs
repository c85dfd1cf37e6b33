using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Seq.Api.Hosting;
using Seq.Domain.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Users;

public sealed class LoginTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    async Task<HttpResponseMessage> LoginAsync(HttpClient client, string username, string password, string? newPassword = null) =>
        await client.PostAsJsonAsync("/api/users/login", new { Username = username, Password = password, NewPassword = newPassword });

    [Fact]
    public async Task A_wrong_password_and_an_unknown_user_get_the_same_status_and_the_same_message()
    {
        var username = Unique("carol");
        await _server.CreateUserAsync(username, "carol-password-1", BuiltInRoles.UserReadOnly.Id);
        var client = _server.CreateClient();

        using var wrongPassword = await LoginAsync(client, username, "not-her-password");
        using var unknownUser = await LoginAsync(client, Unique("nobody"), "not-her-password");

        wrongPassword.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        unknownUser.StatusCode.ShouldBe(wrongPassword.StatusCode);
        (await wrongPassword.Content.ReadAsStringAsync()).ShouldBe("""{"Error":"Invalid username or password."}""");
        (await unknownUser.Content.ReadAsStringAsync()).ShouldBe(await wrongPassword.Content.ReadAsStringAsync());
        wrongPassword.Headers.Contains("Set-Cookie").ShouldBeFalse();
    }

    [Fact]
    public async Task After_six_failures_the_account_is_throttled_with_429_even_for_the_right_password()
    {
        var username = Unique("dave");
        await _server.CreateUserAsync(username, "dave-password-1", BuiltInRoles.UserReadOnly.Id);
        var client = _server.CreateClient();

        for (var i = 0; i < 6; i++)
            (await LoginAsync(client, username, "guess-" + i)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        using var throttled = await LoginAsync(client, username, "dave-password-1");
        throttled.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        throttled.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ShouldBeGreaterThanOrEqualTo(1);
        (await throttled.Content.ReadAsStringAsync()).ShouldContain("Too many failed login attempts");

        // Another account from the same address is not held back by this one's failures.
        var other = Unique("erin");
        await _server.CreateUserAsync(other, "erin-password-1", BuiltInRoles.UserReadOnly.Id);
        (await LoginAsync(client, other, "erin-password-1")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_user_who_must_change_their_password_logs_in_only_by_changing_it()
    {
        var username = Unique("frank");
        using (var created = await _server.Client.PostAsJsonAsync("/api/users",
                   new { Username = username, NewPassword = "initial-password-1", RoleIds = new[] { BuiltInRoles.UserReadOnly.Id }, MustChangePassword = true }))
            created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var client = _server.CreateClient();

        using var refused = await LoginAsync(client, username, "initial-password-1");
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("must be changed");
        refused.Headers.Contains("Set-Cookie").ShouldBeFalse();

        (await LoginAsync(client, username, "initial-password-1", "initial-password-1")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await LoginAsync(client, username, "initial-password-1", "short")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        using var changed = await LoginAsync(client, username, "initial-password-1", "chosen-password-2");
        var body = await TestServer.ReadAsync(changed, HttpStatusCode.OK);
        body.GetProperty("MustChangePassword").GetBoolean().ShouldBeFalse();

        (await LoginAsync(_server.CreateClient(), username, "initial-password-1")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await LoginAsync(_server.CreateClient(), username, "chosen-password-2")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_login_upgrades_a_hash_made_with_weaker_parameters()
    {
        var username = Unique("grace");
        var id = await _server.CreateUserAsync(username, "grace-password-1", BuiltInRoles.UserReadOnly.Id);
        var salt = RandomNumberGenerator.GetBytes(16);
        var weak = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes("grace-password-1"), salt, 1000, HashAlgorithmName.SHA512, 32);
        var weakHash = $"$pbkdf2-sha512$v=1$i=1000${Convert.ToBase64String(salt)}${Convert.ToBase64String(weak)}";
        await SetStoredHashAsync(id, weakHash);

        (await LoginAsync(_server.CreateClient(), username, "grace-password-1")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var stored = await StoredHashAsync(id);
        stored.ShouldStartWith("$pbkdf2-sha512$v=1$i=210000$");
        stored.ShouldNotBe(weakHash);
        (await LoginAsync(_server.CreateClient(), username, "grace-password-1")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_cookie_authenticated_change_without_the_csrf_header_is_403_and_changes_nothing()
    {
        var admin = _server.CreateClient();
        using (var login = await LoginAsync(admin, "admin", TestServer.AdminPassword))
            login.StatusCode.ShouldBe(HttpStatusCode.OK);

        (await admin.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var forged = await admin.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "forged" });
        forged.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await forged.Content.ReadAsStringAsync()).ShouldContain(RequestAuthentication.CsrfHeader);

        admin.DefaultRequestHeaders.Add(RequestAuthentication.CsrfHeader, "not-the-token");
        (await admin.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "forged" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        (await _server.GetJsonAsync("/api/settings/setting-InstanceTitle")).GetProperty("Value").GetString().ShouldNotBe("forged");
    }

    [Fact]
    public async Task The_session_cookie_is_http_only_and_same_site_strict_and_logout_ends_the_session_everywhere()
    {
        var client = _server.CreateClient();
        using var login = await LoginAsync(client, "admin", TestServer.AdminPassword);
        var cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RequestAuthentication.SessionCookie + "=", StringComparison.Ordinal));
        cookie.ShouldContain("httponly", Case.Insensitive);
        cookie.ShouldContain("samesite=strict", Case.Insensitive);
        cookie.ShouldContain("path=/", Case.Insensitive);
        var csrf = (await TestServer.ReadAsync(login, HttpStatusCode.OK)).GetProperty("CsrfToken").GetString()!;

        // The same cookie, replayed by another client, stops working once its session is logged out.
        var replay = _server.CreateClient();
        replay.DefaultRequestHeaders.Add("Cookie", cookie.Split(';')[0]);
        (await replay.GetAsync("/api/users/current")).StatusCode.ShouldBe(HttpStatusCode.OK);

        client.DefaultRequestHeaders.Add(RequestAuthentication.CsrfHeader, csrf);
        (await client.PostAsync("/api/users/logout", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await replay.GetAsync("/api/users/current")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await client.GetAsync("/api/users/current")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_administrators_password_reset_ends_the_users_sessions_and_a_users_own_change_keeps_only_the_session_that_made_it()
    {
        var username = Unique("heidi");
        var id = await _server.CreateUserAsync(username, "heidi-password-1", BuiltInRoles.UserReadWrite.Id);
        var first = await _server.LoginAsync(username, "heidi-password-1");
        var second = await _server.LoginAsync(username, "heidi-password-1");

        using (var change = await first.PutAsJsonAsync("/api/users/current/password", new { Password = "heidi-password-1", NewPassword = "heidi-password-2" }))
            change.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await first.GetAsync("/api/users/current")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await second.GetAsync("/api/users/current")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        using (var reset = await _server.Client.PutAsJsonAsync($"/api/users/{id}",
                   new { Username = username, RoleIds = new[] { BuiltInRoles.UserReadWrite.Id }, NewPassword = "reset-password-3", MustChangePassword = true }))
            reset.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await first.GetAsync("/api/users/current")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Changing_ones_own_password_needs_the_current_one()
    {
        var username = Unique("ivan");
        await _server.CreateUserAsync(username, "ivan-password-1", BuiltInRoles.UserReadOnly.Id);
        var client = await _server.LoginAsync(username, "ivan-password-1");

        using var refused = await client.PutAsJsonAsync("/api/users/current/password", new { Password = "wrong-password", NewPassword = "ivan-password-2" });
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await LoginAsync(_server.CreateClient(), username, "ivan-password-1")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_current_user_is_the_logged_in_user_and_anonymous_callers_get_401()
    {
        var current = await _server.GetJsonAsync("/api/users/current");
        current.GetProperty("Id").GetString().ShouldBe("user-admin");
        current.GetProperty("Username").GetString().ShouldBe("admin");
        current.GetProperty("RoleIds").EnumerateArray().Select(r => r.GetString()).ShouldBe([BuiltInRoles.Administrator.Id]);
        current.TryGetProperty("PasswordHash", out _).ShouldBeFalse();

        using var anonymous = await _server.CreateClient().GetAsync("/api/users/current");
        anonymous.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await anonymous.Content.ReadAsStringAsync()).ShouldContain("Error");
    }

    [Fact]
    public async Task Nobody_can_give_a_user_a_role_with_permissions_they_do_not_hold_themselves()
    {
        var orgAdmin = Unique("judy");
        await _server.CreateUserAsync(orgAdmin, "judy-password-1", BuiltInRoles.OrganizationAdministrator.Id);
        var client = await _server.LoginAsync(orgAdmin, "judy-password-1");

        using var escalation = await client.PostAsJsonAsync("/api/users",
            new { Username = Unique("mallory"), NewPassword = "mallory-password-1", RoleIds = new[] { BuiltInRoles.Administrator.Id } });
        escalation.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await escalation.Content.ReadAsStringAsync()).ShouldContain("System");

        using var allowed = await client.PostAsJsonAsync("/api/users",
            new { Username = Unique("oscar"), NewPassword = "oscar-password-1", RoleIds = new[] { BuiltInRoles.UserReadWrite.Id } });
        allowed.StatusCode.ShouldBe(HttpStatusCode.Created);

        (await client.DeleteAsync("/api/users/user-admin")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Usernames_are_unique_without_regard_to_case_and_users_cannot_delete_themselves()
    {
        var username = Unique("Peggy");
        await _server.CreateUserAsync(username, "peggy-password-1", BuiltInRoles.UserReadOnly.Id);

        using var duplicate = await _server.Client.PostAsJsonAsync("/api/users",
            new { Username = username.ToUpperInvariant(), NewPassword = "peggy-password-2", RoleIds = Array.Empty<string>() });
        duplicate.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        (await _server.Client.DeleteAsync("/api/users/user-admin")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    async Task SetStoredHashAsync(string userId, string hash)
    {
        // Simulates a user whose hash predates today's parameters: the event stream is the source of truth, so the
        // weaker hash goes in as an event, as an older version of the server would have written it.
        using var scope = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.CreateScope(_server.Services);
        var store = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Seq.Application.EventSourcing.IEventStore>(scope.ServiceProvider);
        var (user, version) = await store.LoadAsync<Seq.Domain.Users.User>(Seq.Domain.Users.User.StreamIdFor(userId), CancellationToken.None);
        var change = user.SetPassword(hash, false, Seq.Domain.Users.PasswordChangeReason.ResetByAdministrator, DateTimeOffset.UtcNow);
        await store.AppendAsync(Seq.Domain.Users.User.StreamIdFor(userId), Seq.Domain.Users.User.StreamType, version, [change], CancellationToken.None);
    }

    async Task<string> StoredHashAsync(string userId)
    {
        await using var connection = new NpgsqlConnection(_server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT password_hash FROM users WHERE id = $1", connection) { Parameters = { new() { Value = userId } } };
        return (string)(await command.ExecuteScalarAsync())!;
    }
}

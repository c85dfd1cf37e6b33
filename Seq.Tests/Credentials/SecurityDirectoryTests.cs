using Npgsql;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Credentials;

/// <summary>
/// The in-memory directory that every request authenticates against, loaded from rows written here directly (as the
/// projections would), so that what it grants is read from the tables and nothing else.
/// </summary>
public sealed class SecurityDirectoryTests(CredentialsDatabase database) : IClassFixture<CredentialsDatabase>
{
    readonly SecretKey _key = SecretKey.Generate();
    readonly string _run = Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task A_shared_key_grants_exactly_the_known_permissions_stored_with_it_and_public()
    {
        var tokens = new ApiKeyTokens(_key);
        var token = await AddKeyAsync(tokens, "shared", ["Read", "Ingest", "Bogus", "99", "read", ""], ownerId: null);
        var directory = new SecurityDirectory(database.DataSource, tokens);

        await directory.RefreshAsync(CancellationToken.None);

        var principal = directory.AuthenticateApiKey(token).ShouldNotBeNull();
        principal.Type.ShouldBe(PrincipalType.ApiKey);
        principal.Name.ShouldBe($"shared {_run}");
        principal.Id.ShouldBe($"apikey-shared-{_run}");
        principal.OnBehalfOfUserId.ShouldBeNull();
        principal.Permissions.OrderBy(p => p).ShouldBe([Permission.Public, Permission.Ingest, Permission.Read]);
    }

    [Fact]
    public async Task A_personal_key_grants_only_what_its_owner_holds_now_and_nothing_once_its_owner_is_gone()
    {
        var tokens = new ApiKeyTokens(_key);
        var ownerId = await AddUserAsync("owner", [BuiltInRoles.UserReadOnly.Id]);
        var kept = await AddKeyAsync(tokens, "personal", ["Read", "Write", "Ingest"], ownerId);
        var orphan = await AddKeyAsync(tokens, "orphan", ["Read"], ownerId: $"user-gone-{_run}");
        var directory = new SecurityDirectory(database.DataSource, tokens);

        await directory.RefreshAsync(CancellationToken.None);

        var principal = directory.AuthenticateApiKey(kept).ShouldNotBeNull();
        principal.OnBehalfOfUserId.ShouldBe(ownerId);
        principal.Permissions.OrderBy(p => p).ShouldBe([Permission.Public, Permission.Read]);
        directory.AuthenticateApiKey(orphan).ShouldBeNull();

        var user = directory.FindUser(ownerId).ShouldNotBeNull();
        user.Username.ShouldBe($"owner-{_run}");
        user.PasswordVersion.ShouldBe(3);
        user.Permissions.OrderBy(p => p).ShouldBe([Permission.Public, Permission.Read]);
        directory.FindUser($"user-gone-{_run}").ShouldBeNull();
    }

    [Fact]
    public async Task Keys_that_share_a_prefix_each_authenticate_as_themselves_and_a_wrong_remainder_as_nobody()
    {
        var tokens = new ApiKeyTokens(_key);
        var prefix = $"P{_run[..5]}";
        var first = await AddKeyAsync(tokens, "first", ["Read"], null, token: prefix + "aaaaaaaaaaaaaaaaaa");
        var second = await AddKeyAsync(tokens, "second", ["Ingest"], null, token: prefix + "bbbbbbbbbbbbbbbbbb");
        var directory = new SecurityDirectory(database.DataSource, tokens);

        await directory.RefreshAsync(CancellationToken.None);

        directory.AuthenticateApiKey(first).ShouldNotBeNull().Name.ShouldBe($"first {_run}");
        directory.AuthenticateApiKey(second).ShouldNotBeNull().Name.ShouldBe($"second {_run}");
        directory.AuthenticateApiKey(prefix + "cccccccccccccccccc").ShouldBeNull();
        directory.AuthenticateApiKey(prefix).ShouldBeNull();
        directory.AuthenticateApiKey("").ShouldBeNull();

        // Under another secret key the stored hashes match nothing.
        var other = new SecurityDirectory(database.DataSource, new ApiKeyTokens(SecretKey.Generate()));
        await other.RefreshAsync(CancellationToken.None);
        other.AuthenticateApiKey(first).ShouldBeNull();
    }

    [Fact]
    public async Task A_key_added_after_a_load_is_unknown_until_the_next_refresh()
    {
        var tokens = new ApiKeyTokens(_key);
        var directory = new SecurityDirectory(database.DataSource, tokens);
        await directory.RefreshAsync(CancellationToken.None);

        var token = await AddKeyAsync(tokens, "late", ["Read"], null);
        directory.AuthenticateApiKey(token).ShouldBeNull();

        await directory.RefreshAsync(CancellationToken.None);
        directory.AuthenticateApiKey(token).ShouldNotBeNull();
    }

    async Task<string> AddUserAsync(string name, string[] roleIds)
    {
        var id = $"user-{name}-{_run}";
        await using var command = database.DataSource.CreateCommand(
            "INSERT INTO users (id, username, role_ids, password_hash, must_change_password, password_version, updated) VALUES ($1, $2, $3, 'x', false, 3, now())");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = $"{name}-{_run}" });
        command.Parameters.Add(new NpgsqlParameter { Value = roleIds });
        await command.ExecuteNonQueryAsync();
        return id;
    }

    async Task<string> AddKeyAsync(ApiKeyTokens tokens, string name, string[] permissions, string? ownerId, string? token = null)
    {
        var made = token is null ? tokens.Generate() : tokens.FromClient(token);
        await using var command = database.DataSource.CreateCommand(
            "INSERT INTO api_keys (id, title, token_prefix, token_salt, token_hash, assigned_permissions, owner_id, input_settings, created, updated) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, '{}', now(), now())");
        command.Parameters.Add(new NpgsqlParameter { Value = $"apikey-{name}-{_run}" });
        command.Parameters.Add(new NpgsqlParameter { Value = $"{name} {_run}" });
        command.Parameters.Add(new NpgsqlParameter { Value = made.Prefix });
        command.Parameters.Add(new NpgsqlParameter { Value = made.Salt });
        command.Parameters.Add(new NpgsqlParameter { Value = made.Hash });
        command.Parameters.Add(new NpgsqlParameter { Value = permissions });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)ownerId ?? DBNull.Value });
        await command.ExecuteNonQueryAsync();
        return made.Token;
    }
}

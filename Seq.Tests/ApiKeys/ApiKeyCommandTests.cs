using FluentValidation;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Seq.Application.ApiKeys;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;
using Seq.Domain.Users;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.ApiKeys;

/// <summary>One server for the class; each test works with users and keys of its own.</summary>
public sealed class ApiKeyServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class ApiKeyCommandTests(ApiKeyServerFixture fixture) : IClassFixture<ApiKeyServerFixture>
{
    static readonly Permission[] ReadWrite = [Permission.Read, Permission.Write];
    static readonly Permission[] OrganizationAdministrator = [Permission.Read, Permission.Write, Permission.Ingest, Permission.Project, Permission.Organization];

    TestServer Server => fixture.Server;

    static Principal User(string name, params Permission[] permissions) =>
        new(PrincipalType.User, name, "user-" + name + "-" + Guid.NewGuid().ToString("N")[..8], null,
            new HashSet<Permission>([Permission.Public, .. permissions]));

    async Task<T> SendAsync<T>(Principal principal, IRequest<T> request)
    {
        using var scope = Server.Services.CreateScope();
        scope.ServiceProvider.GetRequiredService<OperationContext>().Principal = principal;
        return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request);
    }

    Task<CreateApiKeyResult> CreatePersonalAsync(Principal owner, string title = "Personal key", params Permission[] permissions) =>
        SendAsync(owner, new CreateApiKeyCommand(title, permissions.Length == 0 ? [Permission.Read] : [.. permissions], owner.UserId, null));

    async Task<T?> ScalarAsync<T>(string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(Server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        var result = await command.ExecuteScalarAsync();
        return result is null or DBNull ? default : (T)result;
    }

    Task<long> ApiKeyEventCountAsync() =>
        ScalarAsync<long>("SELECT count(*) FROM events e JOIN streams s ON s.stream_id = e.stream_id WHERE s.type = 'ApiKey'");

    Task<long> StreamVersionAsync(string id) =>
        ScalarAsync<long>("SELECT version FROM streams WHERE stream_id = $1", ApiKey.StreamIdFor(id));

    [Fact]
    public async Task Creating_a_key_returns_its_24_character_token_once_and_neither_list_nor_get_ever_shows_it()
    {
        var alice = User("alice", ReadWrite);

        var created = await CreatePersonalAsync(alice, "Alice's laptop", Permission.Write, Permission.Read);

        created.Token.Length.ShouldBe(24);
        created.Token.ShouldAllBe(c => char.IsAsciiLetterOrDigit(c));
        created.ApiKey.Id.ShouldMatch("^apikey-[0-9a-f]{16}$");
        created.ApiKey.TokenPrefix.ShouldBe(created.Token[..ApiKeyTokens.PrefixLength]);
        created.ApiKey.OwnerId.ShouldBe(alice.UserId);
        created.ToString().ShouldNotContain(created.Token);

        var fetched = await SendAsync(alice, new GetApiKeyQuery(created.ApiKey.Id));
        var listed = await SendAsync(alice, new ListApiKeysQuery());

        fetched.Title.ShouldBe("Alice's laptop");
        fetched.AssignedPermissions.ShouldBe([Permission.Read, Permission.Write]);
        listed.ShouldHaveSingleItem().Id.ShouldBe(created.ApiKey.Id);
        (fetched.ToString() + string.Join(' ', listed)).ShouldNotContain(created.Token);
    }

    [Fact]
    public async Task The_token_is_nowhere_in_the_database_but_its_stored_salted_hash_matches_it()
    {
        var alice = User("alice", ReadWrite);
        var created = await CreatePersonalAsync(alice, "Hashed key");
        await SendAsync(alice, new UpdateApiKeyCommand(created.ApiKey.Id, "Hashed key, renamed", [Permission.Read], null));

        foreach (var sql in new[]
                 {
                     "SELECT string_agg(t::text, ' ') FROM api_keys t",
                     "SELECT string_agg(encode(token_salt, 'escape') || encode(token_hash, 'escape'), ' ') FROM api_keys",
                     "SELECT string_agg(data::text || ' ' || metadata::text, ' ') FROM events",
                     "SELECT string_agg(t::text, ' ') FROM streams t",
                 })
        {
            (await ScalarAsync<string>(sql)).ShouldNotBeNull().ShouldNotContain(created.Token, customMessage: sql);
        }
        Server.Log.Text.ShouldNotContain(created.Token);

        await using var connection = new NpgsqlConnection(Server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT token_prefix, token_salt, token_hash, assigned_permissions FROM api_keys WHERE id = $1", connection)
        {
            Parameters = { new() { Value = created.ApiKey.Id } },
        };
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).ShouldBeTrue();
        reader.GetString(0).ShouldBe(created.Token[..ApiKeyTokens.PrefixLength]);
        var tokens = (ApiKeyTokens)Server.Services.GetRequiredService<IApiKeyTokens>();
        tokens.Matches(created.Token, reader.GetFieldValue<byte[]>(1), reader.GetFieldValue<byte[]>(2)).ShouldBeTrue();
        tokens.Matches(created.Token[..^1] + (created.Token[^1] == 'a' ? 'b' : 'a'), reader.GetFieldValue<byte[]>(1), reader.GetFieldValue<byte[]>(2)).ShouldBeFalse();
        reader.GetFieldValue<string[]>(3).ShouldBe(["Read"]);
    }

    [Fact]
    public async Task Every_change_to_a_key_is_announced_on_the_security_channel_when_it_commits()
    {
        var alice = User("alice", ReadWrite);
        await using var listener = new NpgsqlConnection(Server.ConnectionString);
        await listener.OpenAsync();
        var notifications = 0;
        listener.Notification += (_, e) => { if (e.Channel == SecurityDirectory.ChangedChannel) notifications++; };
        await using (var listen = new NpgsqlCommand($"LISTEN {SecurityDirectory.ChangedChannel}", listener))
            await listen.ExecuteNonQueryAsync();

        var created = await CreatePersonalAsync(alice, "Announced");
        await WaitForNotificationsAsync(listener, () => notifications, 1);
        await SendAsync(alice, new UpdateApiKeyCommand(created.ApiKey.Id, "Announced again", [Permission.Read], null));
        await WaitForNotificationsAsync(listener, () => notifications, 2);
        await SendAsync(alice, new DeleteApiKeyCommand(created.ApiKey.Id));
        await WaitForNotificationsAsync(listener, () => notifications, 3);
    }

    static async Task WaitForNotificationsAsync(NpgsqlConnection listener, Func<int> count, int expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (count() < expected && DateTime.UtcNow < deadline)
            await listener.WaitAsync(TimeSpan.FromMilliseconds(200));
        count().ShouldBe(expected);
    }

    [Fact]
    public async Task A_read_only_user_cannot_create_a_key_with_write_nor_update_their_key_to_add_it()
    {
        var writer = User("demoted", ReadWrite);
        var key = await CreatePersonalAsync(writer, "Reader key", Permission.Read);
        var readOnly = writer with { Permissions = new HashSet<Permission> { Permission.Public, Permission.Read } };
        var before = await ApiKeyEventCountAsync();

        await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(readOnly, new CreateApiKeyCommand("Escalation", [Permission.Write], readOnly.UserId, null)));
        await Should.ThrowAsync<AccessDeniedException>(() =>
            SendAsync(readOnly, new UpdateApiKeyCommand(key.ApiKey.Id, "Reader key", [Permission.Read, Permission.Write], null)));

        (await ApiKeyEventCountAsync()).ShouldBe(before);
        (await SendAsync(writer, new GetApiKeyQuery(key.ApiKey.Id))).AssignedPermissions.ShouldBe([Permission.Read]);
    }

    [Fact]
    public async Task A_caller_cannot_give_a_key_a_permission_it_does_not_hold_on_creation_or_update()
    {
        var writer = User("writer", ReadWrite);
        var before = await ApiKeyEventCountAsync();

        var denied = await Should.ThrowAsync<AccessDeniedException>(() =>
            SendAsync(writer, new CreateApiKeyCommand("Escalation", [Permission.Read, Permission.System], writer.UserId, null)));
        denied.Message.ShouldContain("System");
        (await ApiKeyEventCountAsync()).ShouldBe(before);

        var key = await CreatePersonalAsync(writer, "Writer key", Permission.Read, Permission.Write);
        key.ApiKey.AssignedPermissions.ShouldBe([Permission.Read, Permission.Write]);
        var updateDenied = await Should.ThrowAsync<AccessDeniedException>(() =>
            SendAsync(writer, new UpdateApiKeyCommand(key.ApiKey.Id, "Writer key", [Permission.Read, Permission.Ingest], null)));
        updateDenied.Message.ShouldContain("Ingest");

        (await StreamVersionAsync(key.ApiKey.Id)).ShouldBe(1);
        (await SendAsync(writer, new GetApiKeyQuery(key.ApiKey.Id))).AssignedPermissions.ShouldBe([Permission.Read, Permission.Write]);
    }

    [Fact]
    public async Task A_user_without_organization_can_create_neither_a_shared_key_nor_a_key_for_another_owner()
    {
        var alice = User("alice", ReadWrite);
        var bob = User("bob", ReadWrite);
        var before = await ApiKeyEventCountAsync();

        await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(alice, new CreateApiKeyCommand("Shared", [Permission.Read], null, null)));
        await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(alice, new CreateApiKeyCommand("Bob's", [Permission.Read], bob.UserId, null)));

        (await ApiKeyEventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task An_organization_administrator_can_create_a_shared_key_but_not_a_personal_key_for_someone_else()
    {
        var admin = User("admin", OrganizationAdministrator);
        var bob = User("bob", ReadWrite);

        var shared = await SendAsync(admin, new CreateApiKeyCommand("Shared ingestion", [Permission.Ingest], null, null));

        shared.ApiKey.OwnerId.ShouldBeNull();
        await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(admin, new CreateApiKeyCommand("Bob's", [Permission.Read], bob.UserId, null)));
    }

    [Fact]
    public async Task A_personal_api_key_can_create_another_key_for_the_user_it_acts_for()
    {
        var alice = User("alice", ReadWrite);
        var aliceKey = new Principal(PrincipalType.ApiKey, "Alice's key", "apikey-0000000000000001", alice.UserId, alice.Permissions);

        var created = await SendAsync(aliceKey, new CreateApiKeyCommand("Made by a key", [Permission.Read], alice.UserId, null));

        created.ApiKey.OwnerId.ShouldBe(alice.UserId);
        (await SendAsync(alice, new ListApiKeysQuery())).Select(k => k.Id).ShouldBe([created.ApiKey.Id]);
    }

    [Fact]
    public async Task A_user_cannot_get_update_or_delete_another_users_key_and_sees_it_as_missing()
    {
        var alice = User("alice", ReadWrite);
        var bob = User("bob", ReadWrite);
        var bobs = await CreatePersonalAsync(bob, "Bob's key");
        var version = await StreamVersionAsync(bobs.ApiKey.Id);

        await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new GetApiKeyQuery(bobs.ApiKey.Id)));
        await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new UpdateApiKeyCommand(bobs.ApiKey.Id, "Mine now", [Permission.Read], null)));
        await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new DeleteApiKeyCommand(bobs.ApiKey.Id)));
        (await SendAsync(alice, new ListApiKeysQuery())).ShouldBeEmpty();
        (await SendAsync(alice, new ListApiKeysQuery(bob.UserId))).ShouldBeEmpty();

        (await StreamVersionAsync(bobs.ApiKey.Id)).ShouldBe(version);
        (await SendAsync(bob, new GetApiKeyQuery(bobs.ApiKey.Id))).Title.ShouldBe("Bob's key");
    }

    [Fact]
    public async Task A_missing_key_and_an_invisible_key_are_reported_alike()
    {
        var alice = User("alice", ReadWrite);
        var bobs = await CreatePersonalAsync(User("bob", ReadWrite));

        var missing = await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new GetApiKeyQuery("apikey-ffffffffffffffff")));
        var invisible = await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new GetApiKeyQuery(bobs.ApiKey.Id)));

        invisible.Message.Replace(bobs.ApiKey.Id, "ID").ShouldBe(missing.Message.Replace("apikey-ffffffffffffffff", "ID"));
    }

    [Fact]
    public async Task A_user_without_organization_cannot_see_a_shared_key()
    {
        var admin = User("admin", OrganizationAdministrator);
        var alice = User("alice", ReadWrite);
        var shared = await SendAsync(admin, new CreateApiKeyCommand("Shared", [Permission.Ingest], null, null));

        await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new GetApiKeyQuery(shared.ApiKey.Id)));
        await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new DeleteApiKeyCommand(shared.ApiKey.Id)));
        (await SendAsync(alice, new ListApiKeysQuery())).ShouldNotContain(k => k.Id == shared.ApiKey.Id);
    }

    [Fact]
    public async Task An_organization_administrator_sees_updates_and_deletes_every_key()
    {
        var admin = User("admin", OrganizationAdministrator);
        var bob = User("bob", ReadWrite);
        var bobs = await CreatePersonalAsync(bob, "Bob's key");
        var shared = await SendAsync(admin, new CreateApiKeyCommand("Shared", [Permission.Ingest], null, null));

        var all = await SendAsync(admin, new ListApiKeysQuery());
        all.Select(k => k.Id).ShouldContain(bobs.ApiKey.Id);
        all.Select(k => k.Id).ShouldContain(shared.ApiKey.Id);
        (await SendAsync(admin, new ListApiKeysQuery(bob.UserId))).Select(k => k.Id).ShouldBe([bobs.ApiKey.Id]);
        (await SendAsync(admin, new GetApiKeyQuery(bobs.ApiKey.Id))).OwnerId.ShouldBe(bob.UserId);

        var updated = await SendAsync(admin, new UpdateApiKeyCommand(bobs.ApiKey.Id, "Bob's key, audited", [Permission.Read], null));
        updated.Title.ShouldBe("Bob's key, audited");
        updated.OwnerId.ShouldBe(bob.UserId);

        await SendAsync(admin, new DeleteApiKeyCommand(bobs.ApiKey.Id));
        await Should.ThrowAsync<NotFoundException>(() => SendAsync(bob, new GetApiKeyQuery(bobs.ApiKey.Id)));
    }

    [Fact]
    public async Task An_organization_administrator_can_neither_change_nor_delete_a_shared_or_personal_key_that_holds_system()
    {
        var administrator = User("root", [.. OrganizationAdministrator, Permission.System]);
        var orgAdmin = User("orgadmin", OrganizationAdministrator);
        var shared = await SendAsync(administrator, new CreateApiKeyCommand("Shared system key", [Permission.Read, Permission.System], null, null));
        var personal = await CreatePersonalAsync(administrator, "Root's key", Permission.Read, Permission.System);
        var before = await ApiKeyEventCountAsync();

        foreach (var key in new[] { shared.ApiKey, personal.ApiKey })
        {
            (await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(orgAdmin, new UpdateApiKeyCommand(key.Id, "Disarmed", [Permission.Read], null))))
                .Message.ShouldContain("System");
            (await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(orgAdmin, new UpdateApiKeyCommand(key.Id, "Retitled only", [.. key.AssignedPermissions], null))))
                .Message.ShouldContain("System");
            (await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(orgAdmin, new DeleteApiKeyCommand(key.Id))))
                .Message.ShouldContain("System");

            (await StreamVersionAsync(key.Id)).ShouldBe(1);
            var unchanged = await SendAsync(administrator, new GetApiKeyQuery(key.Id));
            unchanged.Title.ShouldBe(key.Title);
            unchanged.AssignedPermissions.ShouldBe([Permission.Read, Permission.System]);
        }
        (await ApiKeyEventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_principal_holding_system_can_downgrade_and_delete_a_key_that_holds_system()
    {
        var administrator = User("root", [.. OrganizationAdministrator, Permission.System]);
        var shared = await SendAsync(User("creator", [.. OrganizationAdministrator, Permission.System]),
            new CreateApiKeyCommand("Shared system key", [Permission.Read, Permission.System], null, null));

        (await SendAsync(administrator, new UpdateApiKeyCommand(shared.ApiKey.Id, "Reader now", [Permission.Read], null)))
            .AssignedPermissions.ShouldBe([Permission.Read]);
        await SendAsync(administrator, new DeleteApiKeyCommand(shared.ApiKey.Id));

        await Should.ThrowAsync<NotFoundException>(() => SendAsync(administrator, new GetApiKeyQuery(shared.ApiKey.Id)));
    }

    [Fact]
    public async Task An_owner_who_lost_a_permission_their_key_carries_cannot_change_the_key_but_can_still_delete_it()
    {
        var owner = User("owner", [.. ReadWrite, Permission.Ingest]);
        var key = await CreatePersonalAsync(owner, "Ingestion key", Permission.Read, Permission.Ingest);
        (await SendAsync(owner, new UpdateApiKeyCommand(key.ApiKey.Id, "Ingestion key, renamed", [Permission.Read, Permission.Ingest], null)))
            .Title.ShouldBe("Ingestion key, renamed");
        var demoted = owner with { Permissions = new HashSet<Permission>([Permission.Public, .. ReadWrite]) };

        (await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(demoted, new UpdateApiKeyCommand(key.ApiKey.Id, "Reader", [Permission.Read], null))))
            .Message.ShouldContain("Ingest");
        (await StreamVersionAsync(key.ApiKey.Id)).ShouldBe(2);

        await SendAsync(demoted, new DeleteApiKeyCommand(key.ApiKey.Id));
        await Should.ThrowAsync<NotFoundException>(() => SendAsync(owner, new GetApiKeyQuery(key.ApiKey.Id)));
    }

    [Fact]
    public async Task Updating_a_key_changes_its_title_permissions_and_input_settings_but_not_its_token_or_owner()
    {
        var alice = User("alice", [.. ReadWrite, Permission.Ingest]);
        var created = await CreatePersonalAsync(alice, "Before", Permission.Ingest);
        var settings = new InputSettings(
            [new InputAppliedProperty("Environment", "Production"), new InputAppliedProperty("Retries", "3"), new InputAppliedProperty("Empty", null)],
            "warning", new DescriptiveFilter("Not health checks", true, "RequestPath <> '/health'", "RequestPath <> '/health'"), true);

        var updated = await SendAsync(alice, new UpdateApiKeyCommand(created.ApiKey.Id, " After ", [Permission.Read, Permission.Ingest], settings));

        updated.Title.ShouldBe("After");
        updated.AssignedPermissions.ShouldBe([Permission.Ingest, Permission.Read]);
        updated.InputSettings.MinimumLevel.ShouldBe("Warning");
        updated.TokenPrefix.ShouldBe(created.ApiKey.TokenPrefix);
        updated.OwnerId.ShouldBe(alice.UserId);

        var fetched = await SendAsync(alice, new GetApiKeyQuery(created.ApiKey.Id));
        fetched.Title.ShouldBe("After");
        fetched.AssignedPermissions.ShouldBe([Permission.Ingest, Permission.Read]);
        fetched.InputSettings.ShouldBe(settings with { MinimumLevel = "Warning" });
        fetched.InputSettings.Filter.ShouldBe(new DescriptiveFilter("Not health checks", true, "RequestPath <> '/health'", "RequestPath <> '/health'"));
        fetched.InputSettings.UseServerTimestamps.ShouldBeTrue();
        (await StreamVersionAsync(created.ApiKey.Id)).ShouldBe(2);
    }

    [Fact]
    public async Task An_update_that_changes_nothing_appends_nothing()
    {
        var alice = User("alice", ReadWrite);
        var settings = new InputSettings([new InputAppliedProperty("Team", "Payments")], "Information", null, false);
        var created = await SendAsync(alice, new CreateApiKeyCommand("Steady", [Permission.Read], alice.UserId, settings));

        var same = await SendAsync(alice, new UpdateApiKeyCommand(created.ApiKey.Id, "Steady",
            [Permission.Read, Permission.Read], new InputSettings([new InputAppliedProperty("Team", "Payments")], "Information", null, false)));
        var omitted = await SendAsync(alice, new UpdateApiKeyCommand(created.ApiKey.Id, "Steady", [Permission.Read], null));

        (await StreamVersionAsync(created.ApiKey.Id)).ShouldBe(1);
        same.InputSettings.ShouldBe(settings);
        omitted.InputSettings.ShouldBe(settings);
    }

    [Fact]
    public async Task A_deleted_key_is_gone_from_get_list_and_the_table()
    {
        var alice = User("alice", ReadWrite);
        var created = await CreatePersonalAsync(alice, "Short-lived");

        await SendAsync(alice, new DeleteApiKeyCommand(created.ApiKey.Id));

        await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new GetApiKeyQuery(created.ApiKey.Id)));
        await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new DeleteApiKeyCommand(created.ApiKey.Id)));
        await Should.ThrowAsync<NotFoundException>(() => SendAsync(alice, new UpdateApiKeyCommand(created.ApiKey.Id, "Back", [Permission.Read], null)));
        (await SendAsync(alice, new ListApiKeysQuery())).ShouldBeEmpty();
        (await ScalarAsync<long>("SELECT count(*) FROM api_keys WHERE id = $1", created.ApiKey.Id)).ShouldBe(0);
        (await StreamVersionAsync(created.ApiKey.Id)).ShouldBe(2);
    }

    [Fact]
    public async Task Invalid_keys_are_refused_before_anything_is_appended()
    {
        var alice = User("alice", ReadWrite);
        var existing = await CreatePersonalAsync(alice, "Valid");
        var before = await ApiKeyEventCountAsync();
        var owner = alice.UserId;

        (await Should.ThrowAsync<ValidationException>(() => SendAsync(alice, new CreateApiKeyCommand("", [Permission.Read], owner, null))))
            .Message.ShouldContain("title");
        await Should.ThrowAsync<ValidationException>(() => SendAsync(alice, new CreateApiKeyCommand(new string('t', 201), [Permission.Read], owner, null)));
        await Should.ThrowAsync<ValidationException>(() => SendAsync(alice, new CreateApiKeyCommand("Bell\a", [Permission.Read], owner, null)));
        (await Should.ThrowAsync<ValidationException>(() => SendAsync(alice, new CreateApiKeyCommand("No permissions", [], owner, null))))
            .Message.ShouldContain("permission");
        await Should.ThrowAsync<ValidationException>(() => SendAsync(alice, new CreateApiKeyCommand("Null permissions", null, owner, null)));
        await Should.ThrowAsync<ValidationException>(() => SendAsync(alice, new CreateApiKeyCommand("Undefined", [(Permission)42], owner, null)));
        (await Should.ThrowAsync<ValidationException>(() => SendAsync(alice,
            new CreateApiKeyCommand("Bad level", [Permission.Read], owner, InputSettings.None with { MinimumLevel = "Loud" })))).Message.ShouldContain("level");
        await Should.ThrowAsync<ValidationException>(() => SendAsync(alice,
            new CreateApiKeyCommand("Duplicate properties", [Permission.Read], owner, InputSettings.None with { AppliedProperties = [new("A", "1"), new("A", "2")] })));
        await Should.ThrowAsync<ValidationException>(() => SendAsync(alice,
            new CreateApiKeyCommand("Unnamed property", [Permission.Read], owner, InputSettings.None with { AppliedProperties = [new(" ", "1")] })));
        await Should.ThrowAsync<ValidationException>(() => SendAsync(alice,
            new CreateApiKeyCommand("Long filter", [Permission.Read], owner, InputSettings.None with { Filter = new DescriptiveFilter(null, false, new string('x', 4097), null) })));
        await Should.ThrowAsync<ValidationException>(() => SendAsync(alice, new UpdateApiKeyCommand(existing.ApiKey.Id, " ", [Permission.Read], null)));
        await Should.ThrowAsync<ValidationException>(() => SendAsync(alice, new UpdateApiKeyCommand(existing.ApiKey.Id, "Valid", [], null)));

        (await ApiKeyEventCountAsync()).ShouldBe(before);
        (await SendAsync(alice, new GetApiKeyQuery(existing.ApiKey.Id))).Title.ShouldBe("Valid");
    }

    [Fact]
    public void The_domain_refuses_what_the_validators_let_through_as_a_domain_exception() =>
        Should.Throw<DomainException>(() => ApiKey.Create("apikey-0000000000000002", "x", "", [], [], [Permission.Read], null, InputSettings.None, DateTimeOffset.UtcNow));

    [Fact]
    public async Task A_principal_without_write_is_refused_by_the_authorization_behaviour()
    {
        var readOnly = User("viewer", Permission.Read);
        var owner = User("owner", ReadWrite);
        var key = await CreatePersonalAsync(owner);
        var before = await ApiKeyEventCountAsync();

        await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(readOnly, new CreateApiKeyCommand("Read key", [Permission.Read], readOnly.UserId, null)));
        await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(readOnly, new ListApiKeysQuery()));
        await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(readOnly, new GetApiKeyQuery(key.ApiKey.Id)));
        await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(readOnly, new UpdateApiKeyCommand(key.ApiKey.Id, "x", [Permission.Read], null)));
        await Should.ThrowAsync<AccessDeniedException>(() => SendAsync(readOnly, new DeleteApiKeyCommand(key.ApiKey.Id)));

        await Should.ThrowAsync<AuthenticationRequiredException>(() => SendAsync(Principal.Anonymous, new CreateApiKeyCommand("Anonymous", [Permission.Public], null, null)));
        await Should.ThrowAsync<AuthenticationRequiredException>(() => SendAsync(Principal.Anonymous, new ListApiKeysQuery()));
        await Should.ThrowAsync<AuthenticationRequiredException>(() => SendAsync(Principal.Anonymous, new DeleteApiKeyCommand(key.ApiKey.Id)));

        (await ApiKeyEventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public void Every_api_key_request_demands_write()
    {
        var requests = typeof(CreateApiKeyCommand).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(CreateApiKeyCommand).Namespace && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRequest<>)))
            .ToList();

        requests.Count.ShouldBe(5);
        requests.ShouldAllBe(t => t.GetCustomAttributes(typeof(DemandsAttribute), false).Cast<DemandsAttribute>().Single().Permission == Permission.Write);
    }
}

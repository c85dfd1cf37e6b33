using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Seq.Api.Hosting;
using Seq.Domain.Security;
using Seq.Tests.Support;

namespace Seq.Tests.ApiKeys;

/// <summary>ADR 0005's rule against escalation, over HTTP: a key may be changed or deleted only by someone who holds what it carries.</summary>
public sealed class ApiKeyAccessTests : IAsyncLifetime
{
    readonly TestPaths _paths = new();
    TestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(_paths.New("audit-test"), null, null),
        });

    public async Task DisposeAsync()
    {
        try
        {
            await _server.DisposeAsync();
        }
        finally
        {
            _paths.Dispose();
        }
    }

    static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    static async Task<string> CreateKeyAsync(HttpClient client, string title, string[] permissions, string? ownerId = null)
    {
        using var response = await client.PostAsJsonAsync("/api/apikeys", new { Title = title, AssignedPermissions = permissions, OwnerId = ownerId });
        return (await TestServer.ReadAsync(response, HttpStatusCode.Created)).GetProperty("Id").GetString()!;
    }

    static async Task<JsonElement> GetKeyAsync(HttpClient client, string id) =>
        await TestServer.ReadAsync(await client.GetAsync($"/api/apikeys/{id}"), HttpStatusCode.OK);

    static string[] Permissions(JsonElement key) => [.. key.GetProperty("AssignedPermissions").EnumerateArray().Select(p => p.GetString()!)];

    async Task<HttpClient> LoginNewUserAsync(string roleId)
    {
        var username = Unique("user");
        await _server.CreateUserAsync(username, "user-password-1", roleId);
        return await _server.LoginAsync(username, "user-password-1");
    }

    [Fact]
    public async Task An_organization_administrator_gets_403_changing_or_deleting_a_key_that_holds_system_and_each_refusal_is_abandoned()
    {
        var shared = await CreateKeyAsync(_server.Client, "Shared system key", ["Read", "System"]);
        var personal = await CreateKeyAsync(_server.Client, "The administrator's own key", ["Read", "Write", "System"], "user-admin");
        var orgAdmin = await LoginNewUserAsync(BuiltInRoles.OrganizationAdministrator.Id);

        foreach (var id in new[] { shared, personal })
        {
            (await GetKeyAsync(orgAdmin, id)).GetProperty("Id").GetString().ShouldBe(id);

            using var downgrade = await orgAdmin.PutAsJsonAsync($"/api/apikeys/{id}", new { Title = "Disarmed", AssignedPermissions = new[] { "Read" } });
            (await TestServer.ReadAsync(downgrade, HttpStatusCode.Forbidden)).GetProperty("Error").GetString()!.ShouldContain("System");

            using var delete = await orgAdmin.DeleteAsync($"/api/apikeys/{id}");
            (await TestServer.ReadAsync(delete, HttpStatusCode.Forbidden)).GetProperty("Error").GetString()!.ShouldContain("System");
        }

        var sharedAfter = await GetKeyAsync(_server.Client, shared);
        sharedAfter.GetProperty("Title").GetString().ShouldBe("Shared system key");
        Permissions(sharedAfter).ShouldBe(["Read", "System"], ignoreOrder: true);
        var personalAfter = await GetKeyAsync(_server.Client, personal);
        personalAfter.GetProperty("Title").GetString().ShouldBe("The administrator's own key");
        Permissions(personalAfter).ShouldBe(["Read", "System", "Write"], ignoreOrder: true);

        var events = await _server.AuditEventsAsync(all => all.Count(e => Is(e, "Abandon")) >= 4);
        var abandoned = events.Where(e => Is(e, "Abandon")).ToList();
        abandoned.Select(e => e.GetProperty("Operation").GetString()).ShouldBe(["Update", "Delete", "Update", "Delete"]);
        abandoned.ShouldAllBe(e => e.GetProperty("Category").GetString() == "ApiKey" && e.GetProperty("@x").GetString()!.Contains("System"));
        foreach (var operation in new[] { "Update", "Delete" })
            events.Count(e => Is(e, "Complete") && e.GetProperty("Category").GetString() == "ApiKey" && e.GetProperty("Operation").GetString() == operation).ShouldBe(0);
    }

    [Fact]
    public async Task An_administrator_can_downgrade_and_delete_a_key_that_holds_system()
    {
        var shared = await CreateKeyAsync(_server.Client, "Shared system key", ["Read", "System"]);

        using (var downgrade = await _server.Client.PutAsJsonAsync($"/api/apikeys/{shared}", new { Title = "Reader now", AssignedPermissions = new[] { "Read" } }))
            Permissions(await TestServer.ReadAsync(downgrade, HttpStatusCode.OK)).ShouldBe(["Read"]);
        (await _server.Client.DeleteAsync($"/api/apikeys/{shared}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await _server.Client.GetAsync($"/api/apikeys/{shared}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_organization_administrator_still_changes_and_deletes_keys_that_hold_only_what_it_holds()
    {
        var shared = await CreateKeyAsync(_server.Client, "Shared ingestion", ["Ingest"]);
        var orgAdmin = await LoginNewUserAsync(BuiltInRoles.OrganizationAdministrator.Id);

        using (var change = await orgAdmin.PutAsJsonAsync($"/api/apikeys/{shared}", new { Title = "Shared ingestion, renamed", AssignedPermissions = new[] { "Ingest", "Read" } }))
            (await TestServer.ReadAsync(change, HttpStatusCode.OK)).GetProperty("Title").GetString().ShouldBe("Shared ingestion, renamed");
        (await orgAdmin.DeleteAsync($"/api/apikeys/{shared}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task A_user_changes_and_deletes_their_own_personal_key()
    {
        var username = Unique("owner");
        var userId = await _server.CreateUserAsync(username, "owner-password-1", BuiltInRoles.UserReadWrite.Id);
        var owner = await _server.LoginAsync(username, "owner-password-1");
        var key = await CreateKeyAsync(owner, "My key", ["Read", "Write"], userId);

        using (var change = await owner.PutAsJsonAsync($"/api/apikeys/{key}", new { Title = "My reader key", AssignedPermissions = new[] { "Read" } }))
            Permissions(await TestServer.ReadAsync(change, HttpStatusCode.OK)).ShouldBe(["Read"]);
        (await owner.DeleteAsync($"/api/apikeys/{key}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task A_personal_key_acting_for_its_owner_cannot_delete_a_stronger_key_of_the_same_owner()
    {
        var strong = await CreateKeyAsync(_server.Client, "The administrator's strong key", ["Read", "Write", "System"], "user-admin");
        using var weakCreated = await _server.Client.PostAsJsonAsync("/api/apikeys", new { Title = "A weak key", AssignedPermissions = new[] { "Read", "Write" }, OwnerId = "user-admin" });
        var weakToken = (await TestServer.ReadAsync(weakCreated, HttpStatusCode.Created)).GetProperty("Token").GetString()!;

        using var weak = new HttpClient { BaseAddress = _server.Address };
        weak.DefaultRequestHeaders.Add("X-Seq-ApiKey", weakToken);
        using (var delete = await weak.DeleteAsync($"/api/apikeys/{strong}"))
            (await TestServer.ReadAsync(delete, HttpStatusCode.Forbidden)).GetProperty("Error").GetString()!.ShouldContain("System");
        Permissions(await GetKeyAsync(_server.Client, strong)).ShouldContain("System");
    }

    static bool Is(JsonElement e, string kind) => e.GetProperty("Event").GetString() == kind;
}

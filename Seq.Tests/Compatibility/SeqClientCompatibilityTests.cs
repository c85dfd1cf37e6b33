using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Seq.Api.Hosting;
using Seq.Application.Diagnostics;
using Seq.Domain.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Compatibility;

/// <summary>One server, with an audit directory, shared by the compatibility tests; each test makes its own names.</summary>
public sealed class CompatibilityServer : IAsyncLifetime
{
    readonly TestPaths _paths = new();

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_paths.New("audit-compat"), null, null) });

    public async Task DisposeAsync()
    {
        try
        {
            await Server.DisposeAsync();
        }
        finally
        {
            _paths.Dispose();
        }
    }
}

/// <summary>
/// The server as Seq's own clients (Seq.Api, seqcli) see it: link-following from <c>GET api</c>, anonymous resource
/// documents, RFC 6570 templates expanded with the parameters the client fills in, login and the CSRF header.
/// </summary>
public sealed class SeqClientCompatibilityTests(CompatibilityServer fixture) : IClassFixture<CompatibilityServer>
{
    static readonly string[] ServerGroups = ["ApiKeys", "Users", "Settings", "Roles", "Feeds", "Diagnostics"];

    readonly TestServer _server = fixture.Server;

    static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    async Task<SeqClientConnection> AdminAsync()
    {
        var connection = new SeqClientConnection(_server.Address);
        await connection.LoginAsync("admin", TestServer.AdminPassword);
        return connection;
    }

    async Task<(SeqClientConnection Connection, string UserId)> UserAsync(string roleId)
    {
        var username = Unique("user");
        var password = Unique("password-") + "-x";
        var id = await _server.CreateUserAsync(username, password, roleId);
        var connection = new SeqClientConnection(_server.Address);
        await connection.LoginAsync(username, password);
        return (connection, id);
    }

    /// <summary>Creates a key as <c>seqcli apikey create</c> does: the template, filled in, posted to its <c>Create</c> link.</summary>
    static async Task<HttpResponseMessage> CreateKeyAsync(SeqClientConnection connection, string title, string[] permissions, string? ownerId = null,
        string? token = null)
    {
        using var templateResponse = await connection.Http.GetAsync(await connection.ResolveAsync("ApiKeys", "Template"));
        var template = await TestServer.ReadAsync(templateResponse, HttpStatusCode.OK);
        var entity = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(template.GetRawText())!;
        entity["Title"] = JsonSerializer.SerializeToElement(title);
        entity["AssignedPermissions"] = JsonSerializer.SerializeToElement(permissions);
        entity["OwnerId"] = JsonSerializer.SerializeToElement(ownerId);
        entity["Token"] = JsonSerializer.SerializeToElement(token);
        return await connection.SendAsync(HttpMethod.Post, SeqClientConnection.Resolve(template, "Create"), entity);
    }

    static async Task<string> CreatedKeyIdAsync(SeqClientConnection connection, string title, string[] permissions, string? ownerId = null)
    {
        using var response = await CreateKeyAsync(connection, title, permissions, ownerId);
        return (await TestServer.ReadAsync(response, HttpStatusCode.Created)).GetProperty("Id").GetString()!;
    }

    static async Task<List<JsonElement>> ListKeysAsync(SeqClientConnection connection, string? ownerId, bool shared)
    {
        var address = await connection.ResolveAsync("ApiKeys", "Items", new() { ["ownerId"] = ownerId, ["shared"] = shared });
        using var response = await connection.Http.GetAsync(address);
        return [.. (await TestServer.ReadAsync(response, HttpStatusCode.OK)).EnumerateArray()];
    }

    [Fact]
    public async Task Every_resource_document_is_readable_without_credentials_while_the_entities_stay_protected()
    {
        using var anonymous = new SeqClientConnection(_server.Address);

        var groups = await SeqClientLinks.LoadGroupsAsync(anonymous.Http);

        ServerGroups.ShouldBeSubsetOf(groups.Keys);
        foreach (var entities in new[] { "api/apikeys", "api/users", "api/settings", "api/feeds", "api/diagnostics/metrics" })
        {
            using var response = await anonymous.Http.GetAsync(entities);
            var error = await TestServer.ReadAsync(response, HttpStatusCode.Unauthorized);
            error.GetProperty("Error").GetString().ShouldNotBeNullOrWhiteSpace();
        }
    }

    [Fact]
    public async Task Every_link_the_Seq_client_follows_is_present_when_documented_as_supported_and_declares_every_parameter_it_fills_in()
    {
        using var anonymous = new SeqClientConnection(_server.Address);
        var groups = await SeqClientLinks.LoadGroupsAsync(anonymous.Http);
        var documented = SeqClientLinks.DocumentedLinks();
        documented.Count.ShouldBeGreaterThan(40, "docs/seq-compatibility.md lost its links table");

        var problems = new List<string>();
        foreach (var link in SeqClientLinks.All)
        {
            if (!groups.TryGetValue(link.Group, out var links))
                continue;
            var row = documented.FirstOrDefault(d => d.Group == link.Group && d.Link == link.Link);
            if (!links.TryGetValue(link.Link, out var template))
            {
                if (row is { Required: true })
                    problems.Add($"{link} is documented as {row.Status} but {link.Group}Resources has no such link");
                continue;
            }
            var undeclared = link.Parameters.Except(UriTemplate.ParameterNames(template)).ToList();
            if (undeclared.Count > 0)
                problems.Add($"{link} is `{template}`, which does not declare {string.Join(", ", undeclared)} that the client fills in");
            if (row is null or { Required: false })
                problems.Add($"{link} exists but docs/seq-compatibility.md does not say it is supported");
        }

        problems.ShouldBeEmpty();
    }

    [Fact]
    public async Task Every_link_the_client_reads_answers_the_administrator_when_expanded_with_the_clients_parameters()
    {
        using var admin = await AdminAsync();
        await CreatedKeyIdAsync(admin, Unique("listed"), ["Ingest"]);

        var groups = await SeqClientLinks.LoadGroupsAsync(admin.Http);
        var followed = 0;
        foreach (var link in SeqClientLinks.All.Where(l => l.Method == "GET" && l.Link is not ("Scan" or "Stream")))
        {
            if (!groups.TryGetValue(link.Group, out var links) || !links.ContainsKey(link.Link))
                continue;
            string? id = null;
            if (link.Parameters.Contains("id"))
            {
                // An id comes from the group's list; a group without one (Events) is checked by its own tests.
                if (link.Group != "Settings" && !links.ContainsKey("Items"))
                    continue;
                using var list = await admin.Http.GetAsync(link.Group == "Settings" ? "api/settings" : await admin.ResolveAsync(link.Group, "Items"));
                var items = (await TestServer.ReadAsync(list, HttpStatusCode.OK)).EnumerateArray().ToList();
                if (items.Count == 0)
                    continue;
                id = items[0].GetProperty("Id").GetString();
            }
            var address = await admin.ResolveAsync(link.Group, link.Link,
                link.Parameters.ToDictionary(p => p, p => (object?)SeqClientLinks.SampleValue(p, id)));
            using var response = await admin.Http.GetAsync(address);
            response.IsSuccessStatusCode.ShouldBeTrue($"{link}: GET {address} answered {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            followed++;
        }

        followed.ShouldBeGreaterThan(20);
    }

    [Fact]
    public async Task The_client_logs_in_through_the_Users_Login_link_and_writes_with_the_CSRF_token_it_was_given()
    {
        using var connection = new SeqClientConnection(_server.Address);
        var user = await connection.LoginAsync("admin", TestServer.AdminPassword);
        user.GetProperty("Username").GetString().ShouldBe("admin");
        SeqClientLinks.LinksOf(user)["Self"].ShouldBe($"api/users/{user.GetProperty("Id").GetString()}");

        var setting = await SeqClientLinks.GetJsonAsync(connection.Http, await connection.ResolveAsync("Settings", "InstanceTitle"));
        var title = Unique("title");
        using (var put = await connection.SendAsync(HttpMethod.Put, SeqClientConnection.Resolve(setting, "Self"), new { Id = setting.GetProperty("Id").GetString(), Name = "InstanceTitle", Value = title }))
            (await TestServer.ReadAsync(put, HttpStatusCode.OK)).GetProperty("Value").GetString().ShouldBe(title);

        var csrf = connection.Http.DefaultRequestHeaders.GetValues("X-Seq-CsrfToken").Single();
        connection.Http.DefaultRequestHeaders.Remove("X-Seq-CsrfToken");
        using (var withoutToken = await connection.SendAsync(HttpMethod.Put, SeqClientConnection.Resolve(setting, "Self"), new { Value = "refused" }))
            (await TestServer.ReadAsync(withoutToken, HttpStatusCode.Forbidden)).GetProperty("Error").GetString()!.ShouldContain("X-Seq-CsrfToken");
        connection.Http.DefaultRequestHeaders.Add("X-Seq-CsrfToken", csrf);

        (await SeqClientLinks.GetJsonAsync(connection.Http, await connection.ResolveAsync("Users", "Current"))).GetProperty("Username").GetString().ShouldBe("admin");
        using (var logout = await connection.SendAsync(HttpMethod.Post, await connection.ResolveAsync("Users", "Logout"), new { }))
            logout.StatusCode.ShouldBe(HttpStatusCode.OK);
        await SeqClientLinks.GetJsonAsync(connection.Http, await connection.ResolveAsync("Users", "Current"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Templates_link_where_the_entity_is_created_and_never_carry_an_empty_Self()
    {
        using var admin = await AdminAsync();
        foreach (var group in new[] { "ApiKeys", "Users", "Feeds" })
        {
            var template = await SeqClientLinks.GetJsonAsync(admin.Http, await admin.ResolveAsync(group, "Template"));
            var links = SeqClientLinks.LinksOf(template);
            links.ShouldNotContainKey("Self", $"{group}'s template");
            links["Create"].ShouldBe(UriTemplate.Expand((await admin.GroupAsync(group))["Items"]), $"{group}'s template");
        }

        using var created = await CreateKeyAsync(admin, Unique("via-template"), ["Ingest"]);
        var key = await TestServer.ReadAsync(created, HttpStatusCode.Created);
        SeqClientLinks.LinksOf(key)["Self"].ShouldBe($"api/apikeys/{key.GetProperty("Id").GetString()}");
    }

    [Fact]
    public async Task The_api_key_list_honours_ownerId_and_shared_within_what_each_caller_may_see()
    {
        using var admin = await AdminAsync();
        var adminId = (await SeqClientLinks.GetJsonAsync(admin.Http, await admin.ResolveAsync("Users", "Current"))).GetProperty("Id").GetString();
        var (alice, aliceId) = await UserAsync(BuiltInRoles.UserReadWrite.Id);
        var (bob, bobId) = await UserAsync(BuiltInRoles.ProjectOwner.Id);
        using var _ = alice;
        using var __ = bob;
        var shared = await CreatedKeyIdAsync(admin, Unique("shared"), ["Ingest"]);
        var adminsOwn = await CreatedKeyIdAsync(admin, Unique("admins"), ["Read"], adminId);
        var alices = await CreatedKeyIdAsync(alice, Unique("alices"), ["Read"], aliceId);
        var bobs = await CreatedKeyIdAsync(bob, Unique("bobs"), ["Read"], bobId);
        static List<string> Ids(List<JsonElement> keys) => [.. keys.Select(k => k.GetProperty("Id").GetString()!)];

        var sharedOnly = await ListKeysAsync(admin, null, shared: true);
        Ids(sharedOnly).ShouldContain(shared);
        sharedOnly.ShouldAllBe(k => k.GetProperty("OwnerId").ValueKind == JsonValueKind.Null);
        Ids(await ListKeysAsync(admin, aliceId, shared: false)).ShouldBe([alices]);
        Ids(await ListKeysAsync(admin, aliceId, shared: true)).ShouldBe([.. sharedOnly.Select(k => k.GetProperty("Id").GetString()!), alices], ignoreOrder: true);
        new[] { shared, adminsOwn, alices, bobs }.ShouldBeSubsetOf(Ids(await ListKeysAsync(admin, null, shared: false)));

        // ADR 0005: without Project a user sees only their own keys; a Project owner also sees the shared ones.
        (await ListKeysAsync(alice, null, shared: true)).ShouldBeEmpty();
        Ids(await ListKeysAsync(alice, null, shared: false)).ShouldBe([alices]);
        (await ListKeysAsync(alice, bobId, shared: false)).ShouldBeEmpty();
        var bobSees = Ids(await ListKeysAsync(bob, null, shared: false));
        bobSees.ShouldContain(shared);
        bobSees.ShouldContain(bobs);
        bobSees.ShouldNotContain(alices);
        bobSees.ShouldNotContain(adminsOwn);
    }

    [Fact]
    public async Task A_shared_key_takes_a_strong_client_chosen_token_that_authenticates_is_stored_only_hashed_and_is_audited_as_client_chosen()
    {
        using var admin = await AdminAsync();
        var token = RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 32);
        _server.Secrets.Add(token);
        var title = Unique("ci-ingestion");

        using var created = await CreateKeyAsync(admin, title, ["Read", "Write"], token: token);
        var key = await TestServer.ReadAsync(created, HttpStatusCode.Created);
        key.GetProperty("Token").GetString().ShouldBe(token);
        key.GetProperty("TokenPrefix").GetString().ShouldBe(token[..6]);

        using (var byKey = new SeqClientConnection(_server.Address, apiKey: token))
        {
            var listed = await SeqClientLinks.GetJsonAsync(byKey.Http, await byKey.ResolveAsync("ApiKeys", "Items", new() { ["shared"] = true }));
            listed.ValueKind.ShouldBe(JsonValueKind.Array);
        }

        await using (var connection = new NpgsqlConnection(_server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM events WHERE strpos(data::text, @token) > 0 OR strpos(metadata::text, @token) > 0", connection);
            command.Parameters.AddWithValue("token", token);
            ((long)(await command.ExecuteScalarAsync())!).ShouldBe(0);
        }
        _server.Log.Text.ShouldNotContain(token);

        var events = await _server.AuditEventsAsync(all => all.Any(e => IsCompleteCreationOf(e, title)));
        var complete = events.Single(e => IsCompleteCreationOf(e, title));
        complete.GetProperty("TokenChosenByClient").GetBoolean().ShouldBeTrue();
    }

    static bool IsCompleteCreationOf(JsonElement e, string title) =>
        e.GetProperty("Event").GetString() == "Complete" && e.TryGetProperty("Title", out var t) && t.GetString() == title;

    [Theory]
    [InlineData("aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd", null, "16 different characters")]
    [InlineData("Short-Token-123", null, "20 to 100 characters")]
    [InlineData("0123456789abcdefghij klmnopqrstuvwxyz", null, "ASCII letters, digits")]
    [InlineData("Z8kq2LmX9pR4tV7wY1nB5cD3", "admin", "only a shared key")]
    public async Task A_weak_token_or_a_chosen_token_for_a_personal_key_is_refused_with_400_and_creates_nothing(string token, string? owner, string explanation)
    {
        using var admin = await AdminAsync();
        _server.Secrets.Add(token);
        var ownerId = owner is null ? null : (await SeqClientLinks.GetJsonAsync(admin.Http, await admin.ResolveAsync("Users", "Current"))).GetProperty("Id").GetString();
        var title = Unique("refused");

        using var refused = await CreateKeyAsync(admin, title, ["Ingest"], ownerId, token);

        var error = (await TestServer.ReadAsync(refused, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!;
        error.ShouldContain(explanation);
        error.ShouldNotContain(token);
        (await ListKeysAsync(admin, null, shared: false)).ShouldNotContain(k => k.GetProperty("Title").GetString() == title);
    }

    [Fact]
    public async Task A_key_s_token_cannot_be_changed_by_an_update()
    {
        using var admin = await AdminAsync();
        using var created = await CreateKeyAsync(admin, Unique("fixed-token"), ["Ingest"]);
        var key = await TestServer.ReadAsync(created, HttpStatusCode.Created);
        _server.Secrets.Add(key.GetProperty("Token").GetString()!);

        // What a client holding the create response sends back: the entity, token included.
        using var update = await admin.SendAsync(HttpMethod.Put, SeqClientConnection.Resolve(key, "Self"), JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(key.GetRawText()));

        (await TestServer.ReadAsync(update, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("token never changes");
    }

    [Fact]
    public async Task A_project_level_key_can_create_a_shared_key_but_only_with_permissions_it_holds_and_a_user_without_project_cannot()
    {
        var (bob, bobId) = await UserAsync(BuiltInRoles.ProjectOwner.Id);
        using var _ = bob;
        using var projectKeyCreated = await CreateKeyAsync(bob, Unique("ci-project"), ["Read", "Write", "Ingest", "Project"], bobId);
        var projectToken = (await TestServer.ReadAsync(projectKeyCreated, HttpStatusCode.Created)).GetProperty("Token").GetString()!;
        _server.Secrets.Add(projectToken);
        using var ci = new SeqClientConnection(_server.Address, apiKey: projectToken);

        using (var shared = await CreateKeyAsync(ci, Unique("ci-shared"), ["Ingest"]))
            (await TestServer.ReadAsync(shared, HttpStatusCode.Created)).GetProperty("OwnerId").ValueKind.ShouldBe(JsonValueKind.Null);
        using (var escalating = await CreateKeyAsync(ci, Unique("ci-system"), ["Ingest", "System"]))
            (await TestServer.ReadAsync(escalating, HttpStatusCode.Forbidden)).GetProperty("Error").GetString()!.ShouldContain("System");

        var (alice, _) = await UserAsync(BuiltInRoles.UserReadWrite.Id);
        using var __ = alice;
        using var refused = await CreateKeyAsync(alice, Unique("alice-shared"), ["Read"]);
        (await TestServer.ReadAsync(refused, HttpStatusCode.Forbidden)).GetProperty("Error").GetString()!.ShouldContain("Project");
    }

    [Fact]
    public async Task Setting_clear_sends_a_null_value_which_restores_the_default_and_names_match_in_any_letter_case()
    {
        using var admin = await AdminAsync();
        (string Name, object Changed, object Default)[] cases = [("instancetitle", Unique("cleared"), ""), ("BACKUPSTOKEEP", 14, 7)];
        foreach (var (name, changed, @default) in cases)
        {
            var setting = await SeqClientLinks.GetJsonAsync(admin.Http, await admin.ResolveAsync("Settings", name));
            var self = SeqClientConnection.Resolve(setting, "Self");
            var entity = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(setting.GetRawText())!;

            entity["Value"] = JsonSerializer.SerializeToElement(changed);
            using (var set = await admin.SendAsync(HttpMethod.Put, self, entity))
                (await TestServer.ReadAsync(set, HttpStatusCode.OK)).GetProperty("Value").ToString().ShouldBe(changed.ToString());

            // seqcli setting clear: the entity as found, with Value null.
            entity["Value"] = JsonSerializer.SerializeToElement<object?>(null);
            using (var clear = await admin.SendAsync(HttpMethod.Put, self.ToLowerInvariant(), entity))
                (await TestServer.ReadAsync(clear, HttpStatusCode.OK)).GetProperty("Value").ToString().ShouldBe(@default.ToString());
        }

        using var noValue = await admin.SendAsync(HttpMethod.Put, "api/settings/setting-InstanceTitle", new { Name = "InstanceTitle" });
        (await TestServer.ReadAsync(noValue, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("null value restores");
    }

    [Fact]
    public async Task IsAuthenticationEnabled_is_read_only_and_internal_error_reporting_is_reported_and_kept_disabled()
    {
        using var admin = await AdminAsync();
        var authentication = await SeqClientLinks.GetJsonAsync(admin.Http, await admin.ResolveAsync("Settings", "IsAuthenticationEnabled"));
        authentication.GetProperty("Value").GetBoolean().ShouldBeTrue();
        using (var put = await admin.SendAsync(HttpMethod.Put, SeqClientConnection.Resolve(authentication, "Self"), new { Name = "IsAuthenticationEnabled", Value = false }))
            (await TestServer.ReadAsync(put, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("read-only");
        (await SeqClientLinks.GetJsonAsync(admin.Http, "api/settings")).EnumerateArray()
            .ShouldContain(s => s.GetProperty("Name").GetString() == "IsAuthenticationEnabled" && s.GetProperty("Value").GetBoolean());

        var reporting = await admin.ResolveAsync("Settings", "InternalErrorReporting");
        var part = await SeqClientLinks.GetJsonAsync(admin.Http, reporting);
        part.GetProperty("InternalErrorReportingEnabled").GetBoolean().ShouldBeFalse();
        part.GetProperty("UsageTelemetryEnabled").GetBoolean().ShouldBeFalse();
        part.GetProperty("ReplyEmail").ValueKind.ShouldBe(JsonValueKind.Null);

        using (var keepDisabled = await admin.SendAsync(HttpMethod.Put, reporting, new { InternalErrorReportingEnabled = false, ReplyEmail = (string?)null, UsageTelemetryEnabled = false }))
            (await TestServer.ReadAsync(keepDisabled, HttpStatusCode.OK)).GetProperty("InternalErrorReportingEnabled").GetBoolean().ShouldBeFalse();
        using (var enable = await admin.SendAsync(HttpMethod.Put, reporting, new { InternalErrorReportingEnabled = true, ReplyEmail = "ops@example.com", UsageTelemetryEnabled = false }))
            (await TestServer.ReadAsync(enable, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("sends nothing");
        (await SeqClientLinks.GetJsonAsync(admin.Http, reporting)).GetProperty("InternalErrorReportingEnabled").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task Server_metrics_has_every_field_of_the_clients_part_and_the_ingestion_log_is_one_timestamped_line_per_warning()
    {
        using var admin = await AdminAsync();

        var metrics = await SeqClientLinks.GetJsonAsync(admin.Http, await admin.ResolveAsync("Diagnostics", "ServerMetrics"));
        metrics.EnumerateObject().Select(p => p.Name).ShouldBe(
        [
            "EventStoreDiskRemainingBytes", "EventStoreIndexingTimeLastDay", "EventStoreWriteTimeLastMinute", "InputArrivedEventsPerMinute",
            "InputIngestedEventsPerMinute", "InputIngestedBytesPerMinute", "InvalidPayloadsPerMinute", "HttpUnauthorizedPayloadsPerMinute",
            "ProcessUptime", "ProcessThreads", "QueriesPerMinute",
        ], ignoreOrder: true);
        TimeSpan.Parse(metrics.GetProperty("ProcessUptime").GetString()!, System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(TimeSpan.Zero);
        metrics.GetProperty("ProcessThreads").GetInt32().ShouldBeGreaterThan(1);
        TimeSpan.Parse(metrics.GetProperty("EventStoreWriteTimeLastMinute").GetString()!, System.Globalization.CultureInfo.InvariantCulture).ShouldBe(TimeSpan.Zero);

        var status = await SeqClientLinks.GetJsonAsync(admin.Http, await admin.ResolveAsync("Diagnostics", "ServerStatus"));
        status.GetProperty("StatusMessages").GetArrayLength().ShouldBe(0, "a healthy server with authentication has nothing to warn about");

        var marker = Unique("refused-payload");
        _server.Services.GetRequiredService<IngestionLog>().Warn($"{marker}: the payload was not CLEF\n2026-01-01T00:00:00.000Z [ERR] forged");
        using var response = await admin.Http.GetAsync(await admin.ResolveAsync("Diagnostics", "IngestionLog"));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/plain");
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = lines.Single(l => l.Contains(marker));
        line.ShouldMatch(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[WRN\] " + Regex.Escape(marker) + ": the payload was not CLEF 2026-01-01T00:00:00.000Z \\[ERR\\] forged$");
        lines.ShouldAllBe(l => Regex.IsMatch(l, @"^\d{4}-\d\d-\d\dT"));
    }

    [Fact]
    public async Task Server_status_warns_while_auditing_is_unavailable_and_while_authentication_is_off()
    {
        using var paths = new TestPaths();
        // A file where the audit directory's parent should be: every audit write fails until it is replaced by a folder.
        var root = paths.New("audit-status");
        Directory.CreateDirectory(root);
        var blocker = Path.Combine(root, "blocker");
        File.WriteAllText(blocker, "a file where the audit directory should be");
        var directory = Path.Combine(blocker, "audit");
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(directory, null, null) { File = new FileAuditTargetOptions(TimeSpan.FromMilliseconds(500), 0) },
            FirstRun = new FirstRunOptions(NoAuthentication: true),
        }, loginAsAdmin: false);
        using var client = new SeqClientConnection(server.Address);
        var statusLink = await client.ResolveAsync("Diagnostics", "ServerStatus");

        using (var refused = await client.SendAsync(HttpMethod.Put, "api/settings/setting-InstanceTitle", new { Value = "disk full" }))
            refused.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        var during = (await SeqClientLinks.GetJsonAsync(client.Http, statusLink)).GetProperty("StatusMessages").EnumerateArray().ToList();
        during.Single(m => m.GetProperty("Message").GetString()!.Contains("Auditing is unavailable")).GetProperty("Level").GetString().ShouldBe("Warning");
        during.ShouldContain(m => m.GetProperty("Message").GetString()!.Contains("Authentication is disabled"));

        // Once audit writes succeed again, only the authentication warning is left.
        File.Delete(blocker);
        Directory.CreateDirectory(directory);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using (var change = await client.SendAsync(HttpMethod.Put, "api/settings/setting-InstanceTitle", new { Value = "space again" }))
                if (change.StatusCode == HttpStatusCode.OK)
                    break;
            DateTime.UtcNow.ShouldBeLessThan(deadline, "audit writes did not succeed again");
            await Task.Delay(50);
        }
        var after = (await SeqClientLinks.GetJsonAsync(client.Http, statusLink)).GetProperty("StatusMessages").EnumerateArray().ToList();
        after.ShouldHaveSingleItem().GetProperty("Message").GetString()!.ShouldContain("Authentication is disabled");
    }

    [Fact]
    public async Task A_field_the_server_does_not_support_is_refused_with_an_error_naming_it_while_echoed_entities_are_accepted()
    {
        using var admin = await AdminAsync();
        var current = await SeqClientLinks.GetJsonAsync(admin.Http, await admin.ResolveAsync("Users", "Current"));
        var keyTitle = Unique("default-key");

        // Seq fields with a value this server does not implement.
        using (var defaultKey = await admin.SendAsync(HttpMethod.Post, "api/apikeys", new { Title = keyTitle, AssignedPermissions = new[] { "Ingest" }, IsDefault = true }))
            (await TestServer.ReadAsync(defaultKey, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("does not support IsDefault");
        (await ListKeysAsync(admin, null, shared: false)).ShouldNotContain(k => k.GetProperty("Title").GetString() == keyTitle);
        using (var external = await admin.SendAsync(HttpMethod.Post, "api/users",
                   new { Username = Unique("ad-user"), RoleIds = new[] { BuiltInRoles.UserReadOnly.Id }, NewPassword = "a-long-password-1", AuthenticationProvider = "Active Directory" }))
            (await TestServer.ReadAsync(external, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("AuthenticationProvider");
        using (var scoped = await admin.SendAsync(HttpMethod.Put, "api/settings/setting-InstanceTitle", new { Value = "scoped", Scope = "Tenant", Priority = 3 }))
            (await TestServer.ReadAsync(scoped, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("does not support Priority, Scope");
        using (var feed = await admin.SendAsync(HttpMethod.Post, "api/feeds", new { Name = Unique("feed"), Location = "/srv/nuget", ProtocolVersion = 3 }))
            (await TestServer.ReadAsync(feed, HttpStatusCode.BadRequest)).GetProperty("Error").GetString()!.ShouldContain("ProtocolVersion");

        // What the server itself sent, sent back whole, as the client's Update does.
        var keyId = await CreatedKeyIdAsync(admin, Unique("echoed"), ["Ingest"]);
        var key = await SeqClientLinks.GetJsonAsync(admin.Http, $"api/apikeys/{keyId}");
        var echoed = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(key.GetRawText())!;
        echoed["IsDefault"] = JsonSerializer.SerializeToElement(false);
        echoed["InputMetrics"] = JsonSerializer.SerializeToElement(new { ArrivedEventsPerMinute = 5, IngestedEventsPerMinute = 5 });
        using (var update = await admin.SendAsync(HttpMethod.Put, SeqClientConnection.Resolve(key, "Self"), echoed))
            update.StatusCode.ShouldBe(HttpStatusCode.OK);
        using (var feedCreated = await admin.SendAsync(HttpMethod.Post, "api/feeds", new { Name = Unique("feed"), Location = "/srv/nuget", Username = "builder", NewPassword = "feed-secret-1" }))
        {
            _server.Secrets.Add("feed-secret-1");
            var feed = await TestServer.ReadAsync(feedCreated, HttpStatusCode.Created);
            using var feedUpdate = await admin.SendAsync(HttpMethod.Put, SeqClientConnection.Resolve(feed, "Self"), JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(feed.GetRawText()));
            feedUpdate.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        var loginEntity = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>((await admin.LoginAsync("admin", TestServer.AdminPassword)).GetRawText())!;
        using (var userUpdate = await admin.SendAsync(HttpMethod.Put, $"api/users/{current.GetProperty("Id").GetString()}", loginEntity))
            userUpdate.StatusCode.ShouldBe(HttpStatusCode.OK);

        // A group or method the server does not have.
        using (var alerts = await admin.Http.GetAsync("api/alerts/resources"))
            (await TestServer.ReadAsync(alerts, HttpStatusCode.NotFound)).GetProperty("Error").GetString().ShouldNotBeNullOrWhiteSpace();
        using (var deleteRole = await admin.SendAsync(HttpMethod.Delete, $"api/roles/{BuiltInRoles.UserReadOnly.Id}"))
            (await TestServer.ReadAsync(deleteRole, HttpStatusCode.MethodNotAllowed)).GetProperty("Error").GetString().ShouldNotBeNullOrWhiteSpace();
    }
}

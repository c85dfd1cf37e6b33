using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Seq.Api.Hosting;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Tests.Cli;
using Seq.Tests.Support;

namespace Seq.Tests.Scaling;

/// <summary>
/// Three real nodes (Kestrel on loopback) on one PostgreSQL database, with one secret key and one audit directory.
/// A client logs in through one node and acts through the others; a change made on one node must hold on every
/// other within a second.
/// </summary>
public sealed class ScaleOutTests : IAsyncLifetime
{
    static readonly TimeSpan Agreement = TimeSpan.FromSeconds(1);

    readonly string _auditDirectory = TestDirectories.NewPath("scale-audit");
    readonly List<HttpClient> _clients = [];
    readonly Dictionary<HttpClient, HttpMessageHandler> _handlers = [];
    TestServer[] _nodes = [];

    public async Task InitializeAsync()
    {
        var key = SecretKey.Generate();
        var first = await TestServer.StartAsync(o => Node(o, key, "node-a"));
        var others = await Task.WhenAll(
            TestServer.StartAsync(o => Node(o, key, "node-b"), connectionString: first.ConnectionString),
            TestServer.StartAsync(o => Node(o, key, "node-c"), connectionString: first.ConnectionString));
        _nodes = [first, .. others];
    }

    ServerOptions Node(ServerOptions options, SecretKey key, string name) =>
        options with { SecretKey = key, NodeName = name, Audit = new AuditOptions(_auditDirectory, null, null) };

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
            client.Dispose();
        foreach (var node in _nodes)
            await node.DisposeAsync();
        TestDirectories.Delete(_auditDirectory);
    }

    /// <summary>A client of one node that shares its cookie jar (the session) with the clients of the other nodes.</summary>
    HttpClient Through(int node, CookieContainer cookies, string? csrf = null, string? apiKey = null)
    {
        var handler = new HttpClientHandler { CookieContainer = cookies, UseCookies = true };
        var client = new HttpClient(handler) { BaseAddress = _nodes[node].Address };
        _handlers[client] = handler;
        if (csrf is not null)
            client.DefaultRequestHeaders.Add(RequestAuthentication.CsrfHeader, csrf);
        if (apiKey is not null)
            client.DefaultRequestHeaders.Add(RequestAuthentication.ApiKeyHeader, apiKey);
        _clients.Add(client);
        return client;
    }

    /// <summary>Logs in through node 0 and returns one client per node, all in that session.</summary>
    async Task<HttpClient[]> LoginAsync(string username, string password)
    {
        var cookies = new CookieContainer();
        using var response = await Through(0, cookies).PostAsJsonAsync("/api/users/login", new { Username = username, Password = password });
        var csrf = (await TestServer.ReadAsync(response, HttpStatusCode.OK)).GetProperty("CsrfToken").GetString();
        return [.. Enumerable.Range(0, _nodes.Length).Select(i => Through(i, cookies, csrf))];
    }

    static async Task<HttpStatusCode> StatusOfAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    /// <summary>Polls until every client gets <paramref name="expected"/>; fails if that takes longer than a second.</summary>
    static async Task AgreeWithinASecondAsync(IEnumerable<HttpClient> clients, string path, HttpStatusCode expected)
    {
        var elapsed = Stopwatch.StartNew();
        foreach (var client in clients)
        {
            while (await StatusOfAsync(client, path) is var status && status != expected)
            {
                elapsed.Elapsed.ShouldBeLessThan(Agreement, $"{client.BaseAddress} still answers {status} to {path}");
                await Task.Delay(10);
            }
        }
    }

    async Task<string> CreateUserAsync(string username, string password, string role)
    {
        _nodes[0].Secrets.Add(password);
        using var response = await _nodes[0].Client.PostAsJsonAsync("/api/users", new { Username = username, NewPassword = password, RoleIds = new[] { role } });
        return (await TestServer.ReadAsync(response, HttpStatusCode.Created)).GetProperty("Id").GetString()!;
    }

    [Fact]
    public async Task Any_node_serves_a_session_started_on_another_and_a_logout_on_one_ends_it_on_the_others_within_a_second()
    {
        await CreateUserAsync("roaming", "roaming-password-1", "role-user-readonly");
        var nodes = await LoginAsync("roaming", "roaming-password-1");
        foreach (var node in nodes)
            (await StatusOfAsync(node, "/api/users/current")).ShouldBe(HttpStatusCode.OK);

        using (var logout = await nodes[1].PostAsync("/api/users/logout", null))
            logout.IsSuccessStatusCode.ShouldBeTrue();
        await AgreeWithinASecondAsync(nodes, "/api/users/current", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_stolen_session_cookie_stops_working_on_every_node_once_its_user_logs_out_on_one()
    {
        await CreateUserAsync("victim", "victim-password-1", "role-user-readonly");
        var victim = (await LoginAsync("victim", "victim-password-1"))[0];
        var cookie = ((HttpClientHandler)_handlers[victim]).CookieContainer.GetCookies(_nodes[0].Address)[RequestAuthentication.SessionCookie]!.Value;

        // The thief holds a copy of the cookie on the other nodes; the user logs out through the first.
        var thieves = Enumerable.Range(1, 2).Select(i =>
        {
            var jar = new CookieContainer();
            jar.Add(_nodes[i].Address, new Cookie(RequestAuthentication.SessionCookie, cookie));
            return Through(i, jar);
        }).ToList();
        foreach (var thief in thieves)
            (await StatusOfAsync(thief, "/api/users/current")).ShouldBe(HttpStatusCode.OK);

        using (var logout = await victim.PostAsync("/api/users/logout", null))
            logout.IsSuccessStatusCode.ShouldBeTrue();

        await AgreeWithinASecondAsync(thieves, "/api/users/current", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_password_changed_on_one_node_ends_the_users_sessions_on_every_node_within_a_second()
    {
        var id = await CreateUserAsync("changing", "changing-password-1", "role-user-readonly");
        var nodes = await LoginAsync("changing", "changing-password-1");
        foreach (var node in nodes)
            (await StatusOfAsync(node, "/api/users/current")).ShouldBe(HttpStatusCode.OK);

        _nodes[1].Secrets.Add("changed-password-2");
        using (var changed = await (await AdminAsync())[1].PutAsJsonAsync($"/api/users/{id}",
                   new { Username = "changing", RoleIds = new[] { "role-user-readonly" }, NewPassword = "changed-password-2" }))
            changed.IsSuccessStatusCode.ShouldBeTrue(await changed.Content.ReadAsStringAsync());

        await AgreeWithinASecondAsync(nodes, "/api/users/current", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_role_removed_on_one_node_takes_the_permission_away_on_every_node_within_a_second()
    {
        var id = await CreateUserAsync("demoted", "demoted-password-1", "role-administrator");
        var nodes = await LoginAsync("demoted", "demoted-password-1");
        foreach (var node in nodes)
            (await StatusOfAsync(node, "/api/diagnostics/metrics")).ShouldBe(HttpStatusCode.OK);

        using (var changed = await (await AdminAsync())[2].PutAsJsonAsync($"/api/users/{id}",
                   new { Username = "demoted", RoleIds = new[] { "role-user-readonly" } }))
            changed.IsSuccessStatusCode.ShouldBeTrue(await changed.Content.ReadAsStringAsync());

        await AgreeWithinASecondAsync(nodes, "/api/diagnostics/metrics", HttpStatusCode.Forbidden);
        foreach (var node in nodes)
            (await StatusOfAsync(node, "/api/users/current")).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_api_key_made_on_one_node_works_on_all_and_once_deleted_on_another_is_refused_by_all_within_a_second()
    {
        using var created = await _nodes[0].Client.PostAsJsonAsync("/api/apikeys", new { Title = "roaming key", AssignedPermissions = new[] { "Read" } });
        var body = await TestServer.ReadAsync(created, HttpStatusCode.Created);
        var token = body.GetProperty("Token").GetString()!;
        var id = body.GetProperty("Id").GetString()!;
        foreach (var node in _nodes)
            node.Secrets.Add(token);
        var keyed = Enumerable.Range(0, _nodes.Length).Select(i => Through(i, new CookieContainer(), apiKey: token)).ToList();

        await AgreeWithinASecondAsync(keyed, "/api/diagnostics/status", HttpStatusCode.OK);

        using (var deleted = await (await AdminAsync())[1].DeleteAsync($"/api/apikeys/{id}"))
            deleted.IsSuccessStatusCode.ShouldBeTrue();

        await AgreeWithinASecondAsync(keyed, "/api/diagnostics/status", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task When_the_notification_connections_are_cut_a_deleted_key_is_still_refused_by_the_other_nodes_within_seconds()
    {
        using var created = await _nodes[0].Client.PostAsJsonAsync("/api/apikeys", new { Title = "cut key", AssignedPermissions = new[] { "Read" } });
        var body = await TestServer.ReadAsync(created, HttpStatusCode.Created);
        var token = body.GetProperty("Token").GetString()!;
        foreach (var node in _nodes)
            node.Secrets.Add(token);
        var keyed = Enumerable.Range(1, 2).Select(i => Through(i, new CookieContainer(), apiKey: token)).ToList();
        await AgreeWithinASecondAsync(keyed, "/api/diagnostics/status", HttpStatusCode.OK);

        await using (var dataSource = NpgsqlDataSource.Create(_nodes[0].ConnectionString))
        await using (var cut = dataSource.CreateCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"))
            ((long)(await cut.ExecuteScalarAsync())!).ShouldBe(3);

        using (var deleted = await _nodes[0].Client.DeleteAsync($"/api/apikeys/{body.GetProperty("Id").GetString()}"))
            deleted.IsSuccessStatusCode.ShouldBeTrue();

        var elapsed = Stopwatch.StartNew();
        foreach (var client in keyed)
            while (await StatusOfAsync(client, "/api/diagnostics/status") != HttpStatusCode.Unauthorized)
            {
                elapsed.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5), "a node kept accepting a deleted key after losing its notifications");
                await Task.Delay(20);
            }
        _nodes[1].Log.Text.ShouldContain("Lost the notification connection");
    }

    /// <summary>The administrator, logged in through node 0, with one client per node.</summary>
    Task<HttpClient[]> AdminAsync() => LoginAsync("admin", TestServer.AdminPassword);

    [Fact]
    public async Task Each_node_names_itself_audits_to_its_own_session_and_seqsvr_audit_verify_passes_on_all_sessions_together()
    {
        string[] names = ["node-a", "node-b", "node-c"];
        var admins = await AdminAsync();
        for (var i = 0; i < _nodes.Length; i++)
        {
            var health = await _nodes[i].GetJsonAsync("/health");
            health.GetProperty("Node").GetString().ShouldBe(names[i]);
            using var report = await _nodes[i].Client.GetAsync("/api/diagnostics/report");
            (await report.Content.ReadAsStringAsync()).ShouldContain($"Node: {names[i]} (audit session {_nodes[i].Services.GetRequiredService<AuditSession>().Id})");

            // An audited operation, through this node.
            using var created = await admins[i].PostAsJsonAsync("/api/apikeys", new { Title = $"audited on {names[i]}", AssignedPermissions = new[] { "Read" } });
            var token = (await TestServer.ReadAsync(created, HttpStatusCode.Created)).GetProperty("Token").GetString()!;
            foreach (var node in _nodes)
                node.Secrets.Add(token);
        }

        var sessions = _nodes.Select(n => n.Services.GetRequiredService<AuditSession>().Id).ToList();
        sessions.Distinct().Count().ShouldBe(3);
        for (var i = 0; i < _nodes.Length; i++)
        {
            var title = $"audited on {names[i]}";
            var session = sessions[i];
            var events = await _nodes[i].AuditEventsAsync(all => all.Any(e => e.GetRawText().Contains(title, StringComparison.Ordinal)
                && e.GetProperty("AuditSession").GetString() == session));
            events.Where(e => e.GetRawText().Contains(title, StringComparison.Ordinal))
                .Select(e => e.GetProperty("AuditSession").GetString()).Distinct().ShouldBe([session]);
        }

        var files = Directory.GetFiles(_auditDirectory, "seq-audit-*.ndjson").Order().ToList();
        foreach (var session in sessions)
            files.ShouldContain(f => f.Contains(session, StringComparison.Ordinal));
        using var seqsvr = new Seqsvr();
        var verified = await seqsvr.RunWithInputAsync(_nodes[0].Options.SecretKey.ToBase64() + "\n",
            ["audit", "verify", "--key-on-input", "--file", .. files]);
        verified.ExitCode.ShouldBe(0, verified.Everything);
        foreach (var session in sessions)
            verified.Output.ShouldContain(session);
        verified.Output.Split('\n').Count(line => line.Contains(": intact,", StringComparison.Ordinal)).ShouldBe(files.Count, verified.Everything);
    }
}

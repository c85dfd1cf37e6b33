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
using Seq.Tests.Backups;
using Seq.Tests.Cli;
using Seq.Tests.Support;

namespace Seq.Tests.Scaling;

/// <summary>
/// Three real nodes (Kestrel on loopback) on one PostgreSQL database, with one secret key and one audit directory,
/// started once for all the tests of <see cref="ScaleOutTests"/>. Each node's connections carry its name as their
/// application name, so that a test can find its listening connection in pg_stat_activity.
/// </summary>
public sealed class ScaleOutNodes : IAsyncLifetime
{
    public static readonly string[] Names = ["node-a", "node-b", "node-c"];

    public string AuditDirectory { get; } = TestDirectories.NewPath("scale-audit");
    public SecretKey Key { get; } = SecretKey.Generate();
    public string Database { get; private set; } = "";
    public TestServer[] Nodes { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Database = await TestPostgres.CreateDatabaseAsync("scale");
        var first = await TestServer.StartAsync(o => Node(o, Names[0]), connectionString: Named(Names[0]));
        var others = await Task.WhenAll(Names.Skip(1).Select(name => TestServer.StartAsync(o => Node(o, name), connectionString: Named(name))));
        Nodes = [first, .. others];
    }

    /// <summary>The database's connection string with <paramref name="name"/> as the application name.</summary>
    public string Named(string name) => new NpgsqlConnectionStringBuilder(Database) { ApplicationName = name }.ConnectionString;

    ServerOptions Node(ServerOptions options, string name) =>
        options with { SecretKey = Key, NodeName = name, Audit = new AuditOptions(AuditDirectory, null, null) };

    public async Task DisposeAsync()
    {
        foreach (var node in Nodes)
            await node.DisposeAsync();
        TestDirectories.Delete(AuditDirectory);
    }
}

/// <summary>
/// A client logs in through one node and acts through the others; a change made on one node must hold on every
/// other within a second. The nodes are shared by the tests (each makes its own users and keys).
/// </summary>
public sealed class ScaleOutTests(ScaleOutNodes fixture) : IClassFixture<ScaleOutNodes>, IDisposable
{
    static readonly TimeSpan Agreement = TimeSpan.FromSeconds(1);

    readonly string _auditDirectory = fixture.AuditDirectory;
    readonly List<HttpClient> _clients = [];
    readonly Dictionary<HttpClient, HttpMessageHandler> _handlers = [];
    readonly TestServer[] _nodes = fixture.Nodes;

    public void Dispose()
    {
        foreach (var client in _clients)
            client.Dispose();
    }

    /// <summary>A client of one node that shares its cookie jar (the session) with the clients of the other nodes.</summary>
    HttpClient Through(int node, CookieContainer cookies, string? csrf = null, string? apiKey = null) => Through(_nodes[node], cookies, csrf, apiKey);

    HttpClient Through(TestServer node, CookieContainer? cookies = null, string? csrf = null, string? apiKey = null)
    {
        var handler = new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), UseCookies = true };
        var client = new HttpClient(handler) { BaseAddress = node.Address };
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

        await using var dataSource = NpgsqlDataSource.Create(fixture.Database);
        var cut = await ListeningBackendsAsync(dataSource, ScaleOutNodes.Names);
        cut.Count.ShouldBe(3);
        await using (var terminate = dataSource.CreateCommand("SELECT count(pg_terminate_backend(pid)) FROM unnest($1::int[]) AS pid"))
        {
            terminate.Parameters.Add(new NpgsqlParameter { Value = cut.ToArray() });
            ((long)(await terminate.ExecuteScalarAsync())!).ShouldBe(3);
        }

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

        // Each node listens again, on a new connection, and goes back to being told.
        var reconnected = Stopwatch.StartNew();
        while (await ListeningBackendsAsync(dataSource, ScaleOutNodes.Names) is var listening && (listening.Count != 3 || listening.Intersect(cut).Any()))
        {
            reconnected.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "the nodes did not listen again after losing their connections");
            await Task.Delay(20);
        }
    }

    /// <summary>The backends of the listening connections of the nodes named <paramref name="names"/> (their last statement is a LISTEN).</summary>
    static async Task<List<int>> ListeningBackendsAsync(NpgsqlDataSource dataSource, IEnumerable<string> names)
    {
        await using var find = dataSource.CreateCommand(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = ANY($1) AND query LIKE 'LISTEN %' ORDER BY pid");
        find.Parameters.Add(new NpgsqlParameter { Value = names.ToArray() });
        var pids = new List<int>();
        await using var reader = await find.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            pids.Add(reader.GetInt32(0));
        return pids;
    }

    [Fact]
    public async Task A_node_whose_listening_connection_goes_silent_still_refuses_a_deleted_key_within_its_reload_interval_and_then_reconnects()
    {
        // A fourth node that reloads twice a second when nothing arrives (the default is every 10 s).
        var options = new SecurityDirectoryListenerOptions(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1));
        await using var quiet = await TestServer.StartAsync(o => o with { SecretKey = fixture.Key, NodeName = "node-quiet", ConfigureServices = s => s.AddSingleton(options) },
            connectionString: fixture.Named("node-quiet"));
        using var created = await _nodes[0].Client.PostAsJsonAsync("/api/apikeys", new { Title = "silenced key", AssignedPermissions = new[] { "Read" } });
        var body = await TestServer.ReadAsync(created, HttpStatusCode.Created);
        var token = body.GetProperty("Token").GetString()!;
        foreach (var node in _nodes.Append(quiet))
            node.Secrets.Add(token);
        var keyed = Through(quiet, apiKey: token);
        await AgreeWithinASecondAsync([keyed], "/api/diagnostics/status", HttpStatusCode.OK);

        await using var dataSource = NpgsqlDataSource.Create(fixture.Database);
        var started = Stopwatch.StartNew();
        List<int> listening;
        while ((listening = await ListeningBackendsAsync(dataSource, ["node-quiet"])).Count != 1)
        {
            started.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "the fourth node has no listening connection");
            await Task.Delay(20);
        }
        // The backend stops without closing anything: the connection stays open and nothing more comes through it,
        // as when a route drops without a word. The key's deletion notifies, and the quiet node never hears of it.
        Signal("STOP", listening[0]);
        try
        {
            using (var deleted = await _nodes[0].Client.DeleteAsync($"/api/apikeys/{body.GetProperty("Id").GetString()}"))
                deleted.IsSuccessStatusCode.ShouldBeTrue();

            var elapsed = Stopwatch.StartNew();
            while (await StatusOfAsync(keyed, "/api/diagnostics/status") != HttpStatusCode.Unauthorized)
            {
                elapsed.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2), "a node whose listening connection went silent kept accepting a deleted key past its reload interval");
                await Task.Delay(20);
            }

            // Its probe of the silent connection times out, and it falls back to reloading every second.
            var noticed = Stopwatch.StartNew();
            while (!quiet.Log.Text.Contains("Lost the notification connection", StringComparison.Ordinal))
            {
                noticed.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "the node did not notice that its listening connection went silent");
                await Task.Delay(20);
            }
        }
        finally
        {
            Signal("CONT", listening[0]);
        }

        var reconnected = Stopwatch.StartNew();
        while (await ListeningBackendsAsync(dataSource, ["node-quiet"]) is var now && (now.Count != 1 || now[0] == listening[0]))
        {
            reconnected.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "the node did not listen again on a new connection");
            await Task.Delay(20);
        }
    }

    static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        kill.ExitCode.ShouldBe(0, $"kill -{signal} {pid}");
    }

    [Fact]
    public async Task Two_nodes_asked_to_rebuild_the_read_models_at_once_take_turns_under_the_rebuild_lock_and_leave_them_as_the_events_say()
    {
        await CreateUserAsync("rebuilt", "rebuilt-password-1", "role-user-readonly");
        var before = await BackupTestData.DumpAsync(fixture.Database);
        await using var dataSource = NpgsqlDataSource.Create(fixture.Database);
        await using (var wreck = dataSource.CreateCommand("UPDATE users SET username = username || '-wrong'; DELETE FROM api_keys"))
            await wreck.ExecuteNonQueryAsync();

        // The test holds the rebuild lock, as a third node in the middle of a rebuild would.
        await using var holder = await dataSource.OpenConnectionAsync();
        await using var holding = await holder.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", holder, holding))
        {
            take.Parameters.Add(new NpgsqlParameter { Value = ProjectionRebuild.LockId });
            await take.ExecuteNonQueryAsync();
        }

        var rebuilds = _nodes.Take(2).Select(node => Task.Run(() => node.Services.GetRequiredService<ProjectionRebuild>().RunAsync(CancellationToken.None))).ToArray();
        var waiting = Stopwatch.StartNew();
        while (await WaitingForAsync(dataSource, ProjectionRebuild.LockId) < 2)
        {
            waiting.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(15), "the two rebuilds did not both wait for the rebuild lock");
            rebuilds.ShouldAllBe(r => !r.IsCompleted, "a rebuild ran while another held the rebuild lock");
            await Task.Delay(10);
        }
        rebuilds.ShouldAllBe(r => !r.IsCompleted);

        await holding.RollbackAsync();
        var replayed = await Task.WhenAll(rebuilds);

        replayed[0].ShouldBe(replayed[1]);
        replayed[0].ShouldBe(before["SELECT stream_id, version, event_id, type, data, metadata, created FROM events"].Count);
        BackupTestData.ShouldEqual(await BackupTestData.DumpAsync(fixture.Database), before);
    }

    /// <summary>How many transactions wait for the single-key advisory lock <paramref name="lockId"/>.</summary>
    static async Task<long> WaitingForAsync(NpgsqlDataSource dataSource, long lockId)
    {
        await using var count = dataSource.CreateCommand("""
            SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1
            """);
        count.Parameters.Add(new NpgsqlParameter { Value = lockId });
        return (long)(await count.ExecuteScalarAsync())!;
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

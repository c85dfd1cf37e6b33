using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Seq.Api.Hosting;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Tests.Cli;
using Seq.Tests.Support;

namespace Seq.Tests.Scaling;

/// <summary>
/// Three real seqsvr processes, started at once on one empty PostgreSQL database with one secret key and one audit
/// directory, behind Debian's nginx running <c>deploy/nginx-scale.conf</c> (round-robin) on loopback. Started once for
/// all the tests of <see cref="RoundRobinTests"/>.
/// </summary>
public sealed class RoundRobinNodes : IAsyncLifetime
{
    public static readonly string[] Names = ["rr-0", "rr-1", "rr-2"];

    readonly TestPaths _paths = new();

    public X509Certificate2 Certificate { get; } = TestCertificates.CreateForLoopback();
    public string Key { get; } = SecretKey.Generate().ToBase64();
    public string Database { get; private set; } = "";
    public string AuditDirectory { get; private set; } = "";
    public SeqsvrProcess[] Nodes { get; private set; } = [];
    public NginxProxy Proxy { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestPostgres.CreateDatabaseAsync("round_robin");
        AuditDirectory = _paths.New("rr-audit");
        Nodes = [.. Names.Select(name => SeqsvrProcess.Start(_paths.New(name), new Dictionary<string, string?>
        {
            ["SEQ_STORAGE_CONNECTIONSTRING"] = Database,
            ["SEQ_STORAGE_SECRETKEY"] = Key,
            ["SEQ_API_NODENAME"] = name,
            ["SEQ_API_TRUSTEDPROXIES"] = "127.0.0.1",
            ["SEQ_AUDIT_AUDITPATH"] = AuditDirectory,
        }))];
        await Task.WhenAll(Nodes.Select(node => node.WaitUntilHealthyAsync()));
        Proxy = await NginxProxy.StartRoundRobinAsync([.. Nodes.Select(node => node.Client.BaseAddress!)], Certificate, _paths.New("rr-nginx"));
    }

    public async Task DisposeAsync()
    {
        if (Proxy is not null)
            await Proxy.DisposeAsync();
        foreach (var node in Nodes)
            await node.DisposeAsync();
        Certificate.Dispose();
        _paths.Dispose();
    }
}

/// <summary>
/// A client of the load balancer logs in through one node and acts through the others (nginx sends each request to the
/// next node); a logout, a password change, a role removal and an API key deletion made through one node hold on every
/// other within a second.
/// </summary>
public sealed class RoundRobinTests(RoundRobinNodes fixture) : IClassFixture<RoundRobinNodes>, IDisposable
{
    static readonly TimeSpan Agreement = TimeSpan.FromSeconds(1);

    readonly List<HttpClient> _clients = [];

    public void Dispose()
    {
        foreach (var client in _clients)
            client.Dispose();
    }

    /// <summary>A client of the load balancer with a cookie jar of its own.</summary>
    HttpClient ThroughTheProxy(string? apiKey = null)
    {
        var client = new HttpClient(TestCertificates.Trusting(fixture.Certificate, new CookieContainer())) { BaseAddress = fixture.Proxy.HttpsAddress };
        if (apiKey is not null)
            client.DefaultRequestHeaders.Add(RequestAuthentication.ApiKeyHeader, apiKey);
        _clients.Add(client);
        return client;
    }

    async Task<HttpClient> LoginAsync(string username, string password)
    {
        var client = ThroughTheProxy();
        using var response = await client.PostAsJsonAsync("/api/users/login", new { Username = username, Password = password });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        client.DefaultRequestHeaders.Add(RequestAuthentication.CsrfHeader, JsonDocument.Parse(body).RootElement.GetProperty("CsrfToken").GetString());
        return client;
    }

    Task<HttpClient> AdminAsync() => LoginAsync("admin", SeqsvrProcess.AdminPassword);

    async Task<string> CreateUserAsync(string username, string password, string role)
    {
        using var response = await (await AdminAsync()).PostAsJsonAsync("/api/users", new { Username = username, NewPassword = password, RoleIds = new[] { role } });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("Id").GetString()!;
    }

    static async Task<HttpStatusCode> StatusOfAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    /// <summary>
    /// Polls through the proxy until as many requests in a row as there are nodes (so one to each) get
    /// <paramref name="expected"/>; fails if that has not happened within a second.
    /// </summary>
    async Task EveryNodeAnswersWithinASecondAsync(HttpClient client, string path, HttpStatusCode expected)
    {
        var elapsed = Stopwatch.StartNew();
        var inARow = 0;
        while (inARow < fixture.Nodes.Length)
        {
            elapsed.Elapsed.ShouldBeLessThan(Agreement, $"a node still does not answer {expected} to {path}");
            inARow = await StatusOfAsync(client, path) == expected ? inARow + 1 : 0;
        }
    }

    [Fact]
    public async Task Three_nodes_started_at_once_on_an_empty_database_migrate_it_once_and_the_proxy_sends_each_request_to_the_next()
    {
        var applied = fixture.Nodes.Sum(node => node.Output.Split('\n').Count(line => line.Contains("Applied schema step", StringComparison.Ordinal)));
        applied.ShouldBe(SchemaMigrations.All.Count, string.Join("\n----\n", fixture.Nodes.Select(n => n.Output)));
        await using (var dataSource = NpgsqlDataSource.Create(fixture.Database))
        await using (var count = dataSource.CreateCommand("SELECT count(*) FROM schema_migrations"))
            ((long)(await count.ExecuteScalarAsync())!).ShouldBe(SchemaMigrations.All.Count);

        var client = ThroughTheProxy();
        var answered = new List<string>();
        for (var i = 0; i < 2 * fixture.Nodes.Length; i++)
        {
            using var health = await client.GetAsync("/health");
            health.StatusCode.ShouldBe(HttpStatusCode.OK);
            answered.Add(JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("Node").GetString()!);
        }
        answered.Take(3).Order().ShouldBe(RoundRobinNodes.Names);
        answered.Skip(3).ShouldBe(answered.Take(3), "the proxy does not take the nodes in turn");
    }

    [Fact]
    public async Task A_session_started_through_one_node_serves_on_the_others_and_a_logout_through_one_ends_it_on_all_within_a_second()
    {
        await CreateUserAsync("rr-roaming", "rr-roaming-password-1", "role-user-readonly");
        var user = await LoginAsync("rr-roaming", "rr-roaming-password-1");
        for (var i = 0; i < fixture.Nodes.Length; i++)
            (await StatusOfAsync(user, "/api/users/current")).ShouldBe(HttpStatusCode.OK);

        using (var logout = await user.PostAsync("/api/users/logout", null))
            logout.IsSuccessStatusCode.ShouldBeTrue();

        await EveryNodeAnswersWithinASecondAsync(user, "/api/users/current", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_password_changed_through_one_node_ends_the_users_session_on_all_within_a_second()
    {
        var id = await CreateUserAsync("rr-changing", "rr-changing-password-1", "role-user-readonly");
        var user = await LoginAsync("rr-changing", "rr-changing-password-1");
        var admin = await AdminAsync();
        await EveryNodeAnswersWithinASecondAsync(user, "/api/users/current", HttpStatusCode.OK);

        using (var changed = await admin.PutAsJsonAsync($"/api/users/{id}",
                   new { Username = "rr-changing", RoleIds = new[] { "role-user-readonly" }, NewPassword = "rr-changed-password-2" }))
            changed.IsSuccessStatusCode.ShouldBeTrue(await changed.Content.ReadAsStringAsync());

        await EveryNodeAnswersWithinASecondAsync(user, "/api/users/current", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_role_removed_through_one_node_takes_the_permission_away_on_all_within_a_second()
    {
        var id = await CreateUserAsync("rr-demoted", "rr-demoted-password-1", "role-administrator");
        var user = await LoginAsync("rr-demoted", "rr-demoted-password-1");
        var admin = await AdminAsync();
        await EveryNodeAnswersWithinASecondAsync(user, "/api/diagnostics/metrics", HttpStatusCode.OK);

        using (var changed = await admin.PutAsJsonAsync($"/api/users/{id}", new { Username = "rr-demoted", RoleIds = new[] { "role-user-readonly" } }))
            changed.IsSuccessStatusCode.ShouldBeTrue(await changed.Content.ReadAsStringAsync());

        await EveryNodeAnswersWithinASecondAsync(user, "/api/diagnostics/metrics", HttpStatusCode.Forbidden);
        await EveryNodeAnswersWithinASecondAsync(user, "/api/users/current", HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_api_key_deleted_through_one_node_is_refused_by_all_within_a_second()
    {
        var admin = await AdminAsync();
        using var created = await admin.PostAsJsonAsync("/api/apikeys", new { Title = "rr key", AssignedPermissions = new[] { "Read" } });
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        created.StatusCode.ShouldBe(HttpStatusCode.Created, body.ToString());
        var keyed = ThroughTheProxy(apiKey: body.GetProperty("Token").GetString());
        await EveryNodeAnswersWithinASecondAsync(keyed, "/api/diagnostics/status", HttpStatusCode.OK);

        using (var deleted = await admin.DeleteAsync($"/api/apikeys/{body.GetProperty("Id").GetString()}"))
            deleted.IsSuccessStatusCode.ShouldBeTrue();

        await EveryNodeAnswersWithinASecondAsync(keyed, "/api/diagnostics/status", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_audited_operation_on_each_node_is_in_that_nodes_audit_session_and_seqsvr_audit_verify_passes_on_all_sessions_together()
    {
        var sessions = new List<string>();
        for (var i = 0; i < fixture.Nodes.Length; i++)
        {
            // Straight to the node, not through the proxy, so that the operation is known to run there.
            var node = fixture.Nodes[i];
            await node.LoginAsAdminAsync();
            using var report = await node.Client.GetAsync("/api/diagnostics/report");
            var text = await report.Content.ReadAsStringAsync();
            var match = Regex.Match(text, $@"Node: {RoundRobinNodes.Names[i]} \(audit session ([^)]+)\)");
            match.Success.ShouldBeTrue(text);
            sessions.Add(match.Groups[1].Value);

            using var created = await node.Client.PostAsJsonAsync("/api/apikeys", new { Title = $"audited on {RoundRobinNodes.Names[i]}", AssignedPermissions = new[] { "Read" } });
            created.StatusCode.ShouldBe(HttpStatusCode.Created);
        }
        sessions.Distinct().Count().ShouldBe(3);

        for (var i = 0; i < fixture.Nodes.Length; i++)
        {
            var title = $"audited on {RoundRobinNodes.Names[i]}";
            var deadline = Stopwatch.StartNew();
            List<string> seenIn;
            while ((seenIn = AuditSessionsMentioning(title)).Count == 0)
            {
                deadline.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), $"no audit line mentions {title}");
                await Task.Delay(20);
            }
            seenIn.Distinct().ShouldBe([sessions[i]]);
        }

        var files = Directory.GetFiles(fixture.AuditDirectory, "seq-audit-*.ndjson").Order().ToList();
        foreach (var session in sessions)
            files.ShouldContain(f => f.Contains(session, StringComparison.Ordinal));
        using var seqsvr = new Seqsvr();
        var verified = await seqsvr.RunWithInputAsync(fixture.Key + "\n", ["audit", "verify", "--key-on-input", "--file", .. files]);
        verified.ExitCode.ShouldBe(0, verified.Everything);
        verified.Output.Split('\n').Count(line => line.Contains(": intact,", StringComparison.Ordinal)).ShouldBe(files.Count, verified.Everything);
    }

    /// <summary>The audit session of every audit line, in every node's files, that mentions <paramref name="text"/>.</summary>
    List<string> AuditSessionsMentioning(string text)
    {
        var sessions = new List<string>();
        foreach (var file in Directory.GetFiles(fixture.AuditDirectory, "seq-audit-*.ndjson"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (!line.Contains(text, StringComparison.Ordinal) || !line.EndsWith('}'))
                    continue;
                sessions.Add(JsonDocument.Parse(line).RootElement.GetProperty("AuditSession").GetString()!);
            }
        }
        return sessions;
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Seq.Tests.Support;

/// <summary>
/// A link a Seq client (the Seq.Api library's resource groups, which seqcli uses) follows from a group's resource
/// document: the link's name, the HTTP method, and every parameter the client may fill in (<see cref="Parameters"/>;
/// the client throws when the template does not declare one it fills in).
/// </summary>
public sealed record ClientLink(string Group, string Link, string Method, params string[] Parameters)
{
    public override string ToString() => $"{Group}.{Link}";
}

/// <summary>
/// What the Seq.Api client needs of the server's links, and a walk over the server's links the way the client makes
/// it: <c>GET api</c>, then each <c>{Group}Resources</c>, without credentials, with the client's Accept header.
/// docs/seq-compatibility.md says which links are supported; a group that registers in the root links later is
/// checked against the rows the document has for it (see <see cref="DocumentedLinks"/>).
/// </summary>
public static class SeqClientLinks
{
    public const string AcceptHeader = "application/vnd.datalust.seq.v14+json";

    static readonly string[] EventQuery = ["count", "signal", "filter", "startAtId", "afterId", "render", "fromDateUtc", "toDateUtc", "permalinkId", "background", "trace"];

    /// <summary>The client's <c>SettingName</c> values; <c>FindNamedAsync</c> follows the link of that name.</summary>
    public static IReadOnlyList<string> SettingNames { get; } =
    [
        "AuthenticationProvider", "AutomaticAccessADGroup", "AutomaticallyProvisionAuthenticatedUsers", "DataAgeWarningThresholdMilliseconds",
        "EntraIDAuthority", "EntraIDClientId", "EntraIDClientKey", "EntraIDTenantId", "BackupLocation", "BackupsToKeep", "BackupUtcTimeOfDay",
        "CheckForPackageUpdates", "CheckForUpdates", "InstanceTitle", "IsAuthenticationEnabled", "MinimumFreeStorageSpace", "NewUserPreferences",
        "NewUserRoleIds", "NewUserShowSignalIds", "NewUserShowQueryIds", "NewUserShowDashboardIds", "NewUserShowViewIds", "OpenIdConnectAuthority",
        "OpenIdConnectClientId", "OpenIdConnectClientSecret", "OpenIdConnectScopes", "OpenIdConnectMetadataAddress", "RequireApiKeyForWritingEvents",
        "RawEventMaximumContentLength", "RawPayloadMaximumContentLength", "SecretKeyIsBackedUp", "TargetReplicaCount", "ThemeStyles",
    ];

    /// <summary>Every group link the client follows (entity links such as <c>Self</c> are checked on the entities).</summary>
    public static IReadOnlyList<ClientLink> All { get; } =
    [
        new("ApiKeys", "Items", "GET", "ownerId", "shared"),
        new("ApiKeys", "Item", "GET", "id"),
        new("ApiKeys", "Template", "GET"),
        new("ApiKeys", "Metric", "GET", "id", "measurement"),
        new("ApiKeys", "Metrics", "GET", "measurement"),
        new("Users", "Items", "GET"),
        new("Users", "Item", "GET", "id"),
        new("Users", "Current", "GET"),
        new("Users", "Template", "GET"),
        new("Users", "Login", "POST"),
        new("Users", "Logout", "POST"),
        new("Users", "AuthenticationProviders", "GET"),
        new("Settings", "Item", "GET", "id"),
        new("Settings", "InternalErrorReporting", "GET"),
        new("Roles", "Items", "GET"),
        new("Roles", "Item", "GET", "id"),
        new("Feeds", "Items", "GET"),
        new("Feeds", "Item", "GET", "id"),
        new("Feeds", "Template", "GET"),
        new("Diagnostics", "ServerStatus", "GET"),
        new("Diagnostics", "ServerMetrics", "GET"),
        new("Diagnostics", "IngestionLog", "GET"),
        new("Diagnostics", "Metric", "GET", "measurement"),
        new("Diagnostics", "Storage", "GET", "rangeStart", "rangeEnd", "intervalSeconds"),
        new("Diagnostics", "ClusterMetrics", "GET"),
        new("Signals", "Items", "GET", "ownerId", "shared", "partial"),
        new("Signals", "Item", "GET", "id", "partial"),
        new("Signals", "Template", "GET"),
        new("Events", "Item", "GET", "id", "render", "permalinkId", "background", "trace"),
        new("Events", "InSignal", "POST", [.. EventQuery, "shortCircuitAfter"]),
        new("Events", "Scan", "GET", [.. EventQuery, "wait"]),
        new("Events", "DeleteInSignal", "DELETE", "signal", "filter", "fromDateUtc", "toDateUtc"),
        new("Events", "Stream", "GET", "signal", "filter", "render", "clef", "wait"),
        new("Backups", "Items", "GET"),
        new("Backups", "Item", "GET", "id"),
        new("Backups", "Immediate", "POST"),
        .. SettingNames.Select(name => new ClientLink("Settings", name, "GET")),
    ];


    /// <summary>A value of the kind the client sends for <paramref name="parameter"/>.</summary>
    public static object SampleValue(string parameter, string? id = null) => parameter switch
    {
        "id" => id ?? "missing-id",
        "shared" or "partial" or "render" or "background" or "trace" or "wait" or "clef" => true,
        "count" or "intervalSeconds" or "shortCircuitAfter" => 10,
        "fromDateUtc" or "toDateUtc" or "rangeStart" or "rangeEnd" => new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc),
        "filter" => "Level = 'Error' and @Message like '%a b%'",
        _ => "x y/z",
    };

    /// <summary>A client that speaks as Seq's does: base address, the versioned Accept header, its own cookie jar.</summary>
    public static HttpClient CreateClient(Uri address)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true }) { BaseAddress = address };
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue(AcceptHeader));
        return client;
    }

    /// <summary>
    /// <c>GET api</c> and every <c>{Group}Resources</c> it links, through <paramref name="client"/> (anonymous, as the
    /// client loads them before it logs in); each must answer 200 with a <c>Links</c> object of RFC 6570 templates.
    /// </summary>
    public static async Task<Dictionary<string, Dictionary<string, string>>> LoadGroupsAsync(HttpClient client)
    {
        var root = await GetJsonAsync(client, "api");
        var groups = new Dictionary<string, Dictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, template) in LinksOf(root))
        {
            if (!name.EndsWith("Resources", StringComparison.Ordinal))
                continue;
            var document = await GetJsonAsync(client, UriTemplate.Expand(template));
            var links = LinksOf(document);
            foreach (var (link, linkTemplate) in links)
                Should.NotThrow(() => UriTemplate.ParameterNames(linkTemplate), $"{name}.{link} is not an RFC 6570 template: {linkTemplate}");
            groups[name[..^"Resources".Length]] = links;
        }
        return groups;
    }

    /// <summary>An entity's or document's <c>Links</c>, by name, ignoring case as the client's link collection does.</summary>
    public static Dictionary<string, string> LinksOf(JsonElement entity)
    {
        entity.TryGetProperty("Links", out var links).ShouldBeTrue($"no Links in {entity}");
        return links.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.OrdinalIgnoreCase);
    }

    public static async Task<JsonElement> GetJsonAsync(HttpClient client, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(expected, $"GET {path}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>One row of the links table in docs/seq-compatibility.md.</summary>
    public sealed record DocumentedLink(string Group, string Link, string Status)
    {
        /// <summary>Supported now, or promised by an open issue (then required once the group is in the root links).</summary>
        public bool Required => Status == "supported" || Status.StartsWith("issue ", StringComparison.Ordinal);
    }

    /// <summary>The rows of the links table in docs/seq-compatibility.md: <c>| Group | Link | Status | Why |</c>.</summary>
    public static IReadOnlyList<DocumentedLink> DocumentedLinks()
    {
        var row = new Regex(@"^\|\s*`(?<group>\w+)`\s*\|\s*`(?<link>\w+)`\s*\|\s*(?<status>[^|]+?)\s*\|");
        return
        [
            .. File.ReadLines(Path.Combine(RepositoryRoot(), "docs", "seq-compatibility.md"))
                .Select(line => row.Match(line))
                .Where(m => m.Success)
                .Select(m => new DocumentedLink(m.Groups["group"].Value, m.Groups["link"].Value, m.Groups["status"].Value.Trim('*', ' ').ToLowerInvariant())),
        ];
    }

    public static string RepositoryRoot()
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "Seq.sln")))
            directory = Path.GetDirectoryName(directory);
        return directory ?? throw new InvalidOperationException("Seq.sln not found above the test binaries.");
    }
}

/// <summary>
/// A connection that behaves as Seq.Api's <c>SeqConnection</c>: it loads the root and the resource documents
/// anonymously, follows links by name (ignoring case) with RFC 6570 expansion, logs in through <c>Users.Login</c> and
/// then sends the returned CSRF token, or sends an API key in <c>X-Seq-ApiKey</c>.
/// </summary>
public sealed class SeqClientConnection : IDisposable
{
    // Seq's client writes property names as declared (PascalCase), as this does.
    static readonly JsonSerializerOptions PascalCase = new();

    Dictionary<string, Dictionary<string, string>>? _groups;

    public SeqClientConnection(Uri address, string? apiKey = null)
    {
        Http = SeqClientLinks.CreateClient(address);
        if (apiKey is not null)
            Http.DefaultRequestHeaders.Add("X-Seq-ApiKey", apiKey);
    }

    public HttpClient Http { get; }

    public async Task<Dictionary<string, string>> GroupAsync(string group)
    {
        _groups ??= await SeqClientLinks.LoadGroupsAsync(Http);
        _groups.TryGetValue(group, out var links).ShouldBeTrue($"the root has no {group}Resources link");
        return links!;
    }

    /// <summary>The address of a group's link, expanded as the client expands it.</summary>
    public async Task<string> ResolveAsync(string group, string link, Dictionary<string, object?>? parameters = null)
    {
        var links = await GroupAsync(group);
        links.TryGetValue(link, out var template).ShouldBeTrue($"{group}Resources has no {link} link");
        return UriTemplate.Expand(template!, parameters);
    }

    public static string Resolve(JsonElement entity, string link)
    {
        SeqClientLinks.LinksOf(entity).TryGetValue(link, out var template).ShouldBeTrue($"the entity has no {link} link: {entity}");
        return UriTemplate.Expand(template!);
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string address, object? body = null)
    {
        using var request = new HttpRequestMessage(method, address);
        if (body is not null)
            request.Content = body as HttpContent ?? System.Net.Http.Json.JsonContent.Create(body, body.GetType(), options: PascalCase);
        return await Http.SendAsync(request);
    }

    public async Task<JsonElement> LoginAsync(string username, string password)
    {
        using var response = await SendAsync(HttpMethod.Post, await ResolveAsync("Users", "Login"), new { Username = username, Password = password });
        var user = await TestServer.ReadAsync(response, HttpStatusCode.OK);
        Http.DefaultRequestHeaders.Remove("X-Seq-CsrfToken");
        Http.DefaultRequestHeaders.Add("X-Seq-CsrfToken", user.GetProperty("CsrfToken").GetString());
        return user;
    }

    public void Dispose() => Http.Dispose();
}

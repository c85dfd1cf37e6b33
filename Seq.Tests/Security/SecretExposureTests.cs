using System.Net;
using System.Net.Http.Json;
using System.Text;
using Seq.Api.Hosting;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Security;

/// <summary>
/// Walks through every way a secret enters the server (passwords set, changed, reset, mistyped; API key tokens;
/// a feed password; session cookies) and then searches the whole log, the audit files and every response for each
/// of them. Each secret-bearing request is made with the audit log on, so an allow-listed password would be seen.
/// </summary>
public sealed class SecretExposureTests
{
    sealed class Recorder : DelegatingHandler
    {
        public List<(string Request, string Response, bool IsKeyCreation)> Exchanges { get; } = [];

        public Recorder() : base(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true }) { }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var headers = string.Join('\n', response.Headers.Where(h => h.Key != "Set-Cookie").Select(h => $"{h.Key}: {string.Join(",", h.Value)}"));
            var isKeyCreation = request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath == "/api/apikeys" && response.StatusCode == HttpStatusCode.Created;
            Exchanges.Add(($"{request.Method} {request.RequestUri}", headers + "\n" + body, isKeyCreation));
            return response;
        }
    }

    [Fact]
    public async Task No_password_token_or_key_appears_in_the_log_or_in_any_response_but_a_key_creation()
    {
        var secretKey = SecretKey.Generate();
        using var paths = new TestPaths();
        var auditDirectory = paths.New("audit-exposure");
        await using var server = await TestServer.StartAsync(o => new ServerOptions(o.ConnectionString, o.ListenUris, secretKey)
            { FirstRun = o.FirstRun, Limits = o.Limits, Console = o.Console, Audit = new AuditOptions(auditDirectory, null, null) });
        var recorder = new Recorder();
        var admin = new HttpClient(recorder) { BaseAddress = server.Address };
        var secrets = new List<string> { TestServer.AdminPassword, secretKey.ToBase64(), "user-password-1", "user-password-2", "reset-password-3", "chosen-password-4", "mistyped-password", "feed-password-5",
            "refused-password-6", "client-chosen-token-7", "feed-password-8", "created-password-9", "wrong-current-10", "new-password-11" };

        var login = await admin.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = TestServer.AdminPassword });
        secrets.Add(SessionTokenOf(login));
        admin.DefaultRequestHeaders.Add(RequestAuthentication.CsrfHeader, (await login.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("CsrfToken").GetString());

        var created = await admin.PostAsJsonAsync("/api/users", new { Username = "someone", NewPassword = "user-password-1", RoleIds = new[] { "role-user-readwrite" } });
        var userId = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("Id").GetString();
        var userRecorder = new Recorder();
        var user = new HttpClient(userRecorder) { BaseAddress = server.Address };
        var userLogin = await user.PostAsJsonAsync("/api/users/login", new { Username = "someone", Password = "user-password-1" });
        secrets.Add(SessionTokenOf(userLogin));
        user.DefaultRequestHeaders.Add(RequestAuthentication.CsrfHeader, (await userLogin.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("CsrfToken").GetString());
        await user.PutAsJsonAsync("/api/users/current/password", new { Password = "user-password-1", NewPassword = "user-password-2" });
        await user.PostAsJsonAsync("/api/users/login", new { Username = "someone", Password = "mistyped-password" });
        await admin.PutAsJsonAsync($"/api/users/{userId}", new { Username = "someone", RoleIds = new[] { "role-user-readwrite" }, NewPassword = "reset-password-3", MustChangePassword = true });
        await user.PostAsJsonAsync("/api/users/login", new { Username = "someone", Password = "reset-password-3" });
        await user.PostAsJsonAsync("/api/users/login", new { Username = "someone", Password = "reset-password-3", NewPassword = "chosen-password-4" });
        await admin.GetAsync("/api/users");
        await admin.GetAsync($"/api/users/{userId}");
        // Refused requests: their Begin is written before validation, with whatever the request allow-lists.
        await admin.PutAsJsonAsync($"/api/users/{userId}", new { Username = "someone", RoleIds = new[] { "role-that-does-not-exist" }, NewPassword = "refused-password-6" });
        await admin.PostAsJsonAsync("/api/users", new { Username = "other", Password = "created-password-9", RoleIds = new[] { "role-user-readwrite" } });
        await user.PutAsJsonAsync("/api/users/current/password", new { Password = "wrong-current-10", NewPassword = "new-password-11" });
        await admin.PostAsJsonAsync("/api/apikeys", new { Title = "chosen", Token = "client-chosen-token-7", AssignedPermissions = new[] { "Read" } });

        var key = await admin.PostAsJsonAsync("/api/apikeys", new { Title = "exposure", AssignedPermissions = new[] { "Read", "Write" } });
        var keyBody = await key.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var token = keyBody.GetProperty("Token").GetString()!;
        secrets.Add(token);
        var keyId = keyBody.GetProperty("Id").GetString();
        var keyClient = new HttpClient(recorder) { BaseAddress = server.Address };
        keyClient.DefaultRequestHeaders.Add(RequestAuthentication.ApiKeyHeader, token);
        await keyClient.GetAsync("/api/apikeys");
        await keyClient.GetAsync($"/api/apikeys/{keyId}");
        await admin.PutAsJsonAsync($"/api/apikeys/{keyId}", new { Title = "exposure renamed", AssignedPermissions = new[] { "Read" } });
        await keyClient.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "refused" });

        await admin.PostAsJsonAsync("/api/feeds", new { Name = "Private", Location = "https://nuget.example.com/v3/index.json", Username = "u", NewPassword = "feed-password-5" });
        var feed = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/feeds");
        var feedId = feed.EnumerateArray().Single(f => f.GetProperty("Name").GetString() == "Private").GetProperty("Id").GetString();
        await admin.PutAsJsonAsync($"/api/feeds/{feedId}", new { Name = "Private", Location = "https://nuget.example.com/v3/index.json", Username = "u", NewPassword = "feed-password-8" });
        await admin.PostAsync("/api/users/logout", null);

        var exchanges = recorder.Exchanges.Concat(userRecorder.Exchanges).ToList();
        exchanges.Count.ShouldBeGreaterThan(15);
        exchanges.Count(e => e.IsKeyCreation).ShouldBe(1);
        foreach (var secret in secrets)
        {
            server.Log.Text.ShouldNotContain(secret, customMessage: "the log holds a secret");
            foreach (var exchange in exchanges.Where(e => !(e.IsKeyCreation && secret == token)))
                exchange.Response.ShouldNotContain(secret, customMessage: $"the response to {exchange.Request} holds a secret");
        }
        exchanges.Single(e => e.IsKeyCreation).Response.ShouldContain(token);

        // Every secret-bearing operation reached the audit log, so the scan below saw each of them.
        var audited = (await server.AuditEventsAsync(events => events.Any(e => e.GetProperty("Operation").GetString() == "Logout" && e.GetProperty("Event").GetString() == "Complete")))
            .Select(e => $"{e.GetProperty("Category").GetString()}/{e.GetProperty("Operation").GetString()}").ToList();
        foreach (var operation in new[] { "User/LocalLogin", "User/Create", "User/Update", "User/ChangePassword", "ApiKey/Create", "Feed/Create", "Feed/Update" })
            audited.ShouldContain(operation);
        var auditText = string.Concat(Directory.GetFiles(auditDirectory, "seq-audit-*.ndjson").Select(f => string.Join('\n', TestServer.ReadSharedLines(f))));
        foreach (var secret in secrets)
            auditText.ShouldNotContain(secret, customMessage: "the audit log holds a secret");
    }

    static string SessionTokenOf(HttpResponseMessage login) =>
        login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RequestAuthentication.SessionCookie + "=", StringComparison.Ordinal))
            .Split(';')[0][(RequestAuthentication.SessionCookie.Length + 1)..];
}

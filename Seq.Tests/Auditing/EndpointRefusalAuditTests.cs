using System.Net;
using System.Text;
using System.Text.Json;
using Seq.Api.Hosting;
using Seq.Domain.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

public sealed class EndpointRefusalAuditTests : IDisposable
{
    readonly TestPaths _paths = new();

    public void Dispose() => _paths.Dispose();

    const string ChosenToken = "chosen-token-0123456789";
    const string WeakToken = "weak-weak-weak-weak-weak-1";

    sealed record Refusal(string What, HttpMethod Method, string Path, string Body, string Operation, string Explanation);

    /// <summary>
    /// Every refusal the endpoints used to make themselves, before the mediator and so before any audit event, plus
    /// the feed location carrying credentials. Ids in braces are filled in once the resources exist.
    /// </summary>
    static IEnumerable<Refusal> Refusals()
    {
        const string key = """ "Title": "refused key", "AssignedPermissions": ["Read"] """;
        yield return new("a weak token chosen by the client when creating a key", HttpMethod.Post, "/api/apikeys",
            $$"""{ {{key}}, "Token": "{{WeakToken}}" }""", "ApiKey/Create", "16 different characters");
        yield return new("a token chosen by the client when updating a key", HttpMethod.Put, "/api/apikeys/{key}",
            $$"""{ {{key}}, "Token": "{{ChosenToken}}" }""", "ApiKey/Update", "token never changes");
        yield return new("a key body naming another key than the address", HttpMethod.Put, "/api/apikeys/{key}",
            $$"""{ "Id": "apikey-someoneelse", {{key}} }""", "ApiKey/Update", "apikey-someoneelse");
        yield return new("an unknown permission when creating a key", HttpMethod.Post, "/api/apikeys",
            """{ "Title": "refused key", "AssignedPermissions": ["Read", "Superuser"] }""", "ApiKey/Create", "no permission named Superuser");
        yield return new("an unknown permission when updating a key", HttpMethod.Put, "/api/apikeys/{key}",
            """{ "Title": "refused key", "AssignedPermissions": ["Superuser"] }""", "ApiKey/Update", "no permission named Superuser");
        yield return new("an object as an applied property's value when creating a key", HttpMethod.Post, "/api/apikeys",
            $$"""{ {{key}}, "InputSettings": { "AppliedProperties": [{ "Name": "Team", "Value": { "Nested": 1 } }] } }""", "ApiKey/Create",
            "applied property's value must be a string");
        yield return new("an array as an applied property's value when updating a key", HttpMethod.Put, "/api/apikeys/{key}",
            $$"""{ {{key}}, "InputSettings": { "AppliedProperties": [{ "Name": "Team", "Value": [1, 2] }] } }""", "ApiKey/Update",
            "applied property's value must be a string");
        yield return new("a feed body naming another feed than the address", HttpMethod.Put, "/api/feeds/{feed}",
            """{ "Id": "nugetfeed-someoneelse", "Name": "Refusals", "Location": "/srv/nuget" }""", "Feed/Update", "nugetfeed-someoneelse");
        yield return new("credentials in the location when creating a feed", HttpMethod.Post, "/api/feeds",
            """{ "Name": "With credentials", "Location": "https://builder:feed-token-7Qx9@nuget.example.com/v3/index.json" }""", "Feed/Create", "NewPassword");
        yield return new("credentials in the location when updating a feed", HttpMethod.Put, "/api/feeds/{feed}",
            """{ "Name": "Refusals", "Location": "https://builder:feed-token-7Qx9@nuget.example.com/v3/index.json" }""", "Feed/Update", "NewPassword");
        yield return new("a user body naming another user than the address", HttpMethod.Put, "/api/users/{user}",
            $$"""{ "Id": "user-someoneelse", "Username": "refusal-user", "RoleIds": ["{{BuiltInRoles.UserReadOnly.Id}}"] }""", "User/Update", "user-someoneelse");
        yield return new("a setting body naming another setting than the address", HttpMethod.Put, "/api/settings/setting-InstanceTitle",
            """{ "Name": "BackupsToKeep", "Value": "Refused" }""", "Setting/Update", "BackupsToKeep");
        yield return new("an object as a setting's value", HttpMethod.Put, "/api/settings/setting-InstanceTitle",
            """{ "Value": { "Nested": "object" } }""", "Setting/Update", "not a JSON object or array");
        yield return new("an array as a setting's value", HttpMethod.Put, "/api/settings/setting-BackupsToKeep",
            """{ "Value": [7] }""", "Setting/Update", "not a JSON object or array");
    }

    [Fact]
    public async Task Every_refusal_of_an_audited_request_is_a_400_with_an_error_and_a_Begin_and_an_Abandon_with_one_operation_id()
    {
        var directory = _paths.New("audit-test");
        await using var server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(directory, null, null) });
        server.Secrets.AddRange([ChosenToken, WeakToken, "feed-token-7Qx9"]);

        var created = await TestServer.ReadAsync(await server.Client.PostAsync("/api/apikeys",
            Json("""{ "Title": "refusals", "AssignedPermissions": ["Read"] }""")), HttpStatusCode.Created);
        server.Secrets.Add(created.GetProperty("Token").GetString()!);
        var ids = new Dictionary<string, string>
        {
            ["{key}"] = created.GetProperty("Id").GetString()!,
            ["{feed}"] = (await TestServer.ReadAsync(await server.Client.PostAsync("/api/feeds", Json("""{ "Name": "Refusals", "Location": "/srv/nuget" }""")),
                HttpStatusCode.Created)).GetProperty("Id").GetString()!,
            ["{user}"] = await server.CreateUserAsync("refusal-user", "refusal-password-1", BuiltInRoles.UserReadOnly.Id),
        };
        var state = await StateAsync(server);

        foreach (var refusal in Refusals())
        {
            var seen = server.AuditEvents().Count;
            var path = ids.Aggregate(refusal.Path, (p, id) => p.Replace(id.Key, id.Value, StringComparison.Ordinal));
            using var request = new HttpRequestMessage(refusal.Method, path) { Content = Json(refusal.Body) };
            using var response = await server.Client.SendAsync(request);

            var error = await TestServer.ReadAsync(response, HttpStatusCode.BadRequest);
            error.GetProperty("Error").GetString()!.ShouldContain(refusal.Explanation, Case.Insensitive, refusal.What);

            var events = (await server.AuditEventsAsync(all => all.Skip(seen).Any(e => Is(e, refusal.Operation, "Abandon")))).Skip(seen).ToList();
            var begin = events.Where(e => Is(e, refusal.Operation, "Begin")).ShouldHaveSingleItem(refusal.What);
            var abandon = events.Where(e => Is(e, refusal.Operation, "Abandon")).ShouldHaveSingleItem(refusal.What);
            abandon.GetProperty("OperationId").GetString().ShouldBe(begin.GetProperty("OperationId").GetString(), refusal.What);
            abandon.GetProperty("@x").GetString()!.ShouldContain("ValidationException", customMessage: refusal.What);
            begin.GetProperty("HttpRequestPath").GetString().ShouldBe(path, refusal.What);
            events.ShouldNotContain(e => Is(e, refusal.Operation, "Complete"), refusal.What);
        }

        (await StateAsync(server)).ShouldBe(state, "a refused request changes nothing");
        string.Join('\n', server.AuditEvents().Select(e => e.GetRawText())).ShouldNotContain("Token\":", Case.Sensitive, "no token is an audit property");
    }

    [Fact]
    public void No_endpoint_refuses_a_request_itself_so_that_every_refusal_passes_through_the_audited_pipeline()
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "Seq.sln")))
            directory = Path.GetDirectoryName(directory);
        var endpoints = Directory.GetFiles(Path.Combine(directory!, "Seq.Api", "Endpoints"), "*Endpoints.cs");
        endpoints.Length.ShouldBeGreaterThan(5);

        foreach (var file in endpoints)
        {
            var source = File.ReadAllText(file);
            foreach (var refusal in new[] { "Status400BadRequest", "BadRequest(", "throw new", "Exception(" })
                source.ShouldNotContain(refusal, Case.Sensitive, $"{Path.GetFileName(file)} refuses a request itself ({refusal}); a request's validator does that");
        }
    }

    static bool Is(JsonElement e, string operation, string kind) =>
        $"{e.GetProperty("Category").GetString()}/{e.GetProperty("Operation").GetString()}" == operation && e.GetProperty("Event").GetString() == kind;

    static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    static async Task<string> StateAsync(TestServer server)
    {
        var state = "";
        foreach (var path in new[] { "/api/settings", "/api/feeds", "/api/users", "/api/apikeys" })
            state += (await server.GetJsonAsync(path)).GetRawText();
        return state;
    }
}

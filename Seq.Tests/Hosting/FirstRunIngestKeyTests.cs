using System.Net;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class FirstRunIngestKeyTests
{
    const string Token = "AuditIngest0123456789xyz";

    [Fact]
    public async Task A_token_given_for_the_first_start_becomes_a_shared_ingest_only_key_stored_without_the_token()
    {
        await using var server = await TestServer.StartAsync(o => o with { FirstRun = o.FirstRun with { IngestApiKey = Token } });
        server.Secrets.Add(Token);

        var key = (await server.GetJsonAsync("/api/apikeys")).EnumerateArray()
            .Single(k => k.GetProperty("Title").GetString() == FirstRun.IngestApiKeyTitle);
        key.GetProperty("AssignedPermissions").EnumerateArray().Select(p => p.GetString()).ShouldBe(["Ingest"]);
        key.GetProperty("OwnerId").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        key.ToString().ShouldNotContain(Token);

        // The token authenticates (403: known, but not allowed to read), where a wrong one does not (401).
        using var withToken = await server.ApiKeyClient(Token).GetAsync("/api/settings");
        withToken.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var withOther = await server.ApiKeyClient("AuditIngest0123456789xyZ").GetAsync("/api/settings");
        withOther.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_token_too_weak_for_a_client_chosen_one_stops_the_first_start_without_repeating_it()
    {
        var problem = await Should.ThrowAsync<FirstRunException>(() =>
            TestServer.StartAsync(o => o with { FirstRun = o.FirstRun with { IngestApiKey = "short-and-weak" } }));

        problem.Message.ShouldContain("SEQ_FIRSTRUN_INGESTAPIKEY");
        problem.Message.ShouldNotContain("short-and-weak");

        // Long enough, but too few different characters: the API's rule for a client-chosen token refuses it too.
        var repetitive = await Should.ThrowAsync<FirstRunException>(() =>
            TestServer.StartAsync(o => o with { FirstRun = o.FirstRun with { IngestApiKey = "abababababababababababab" } }));
        repetitive.Message.ShouldContain("different characters");
        repetitive.Message.ShouldNotContain("abababababababababababab");
    }
}

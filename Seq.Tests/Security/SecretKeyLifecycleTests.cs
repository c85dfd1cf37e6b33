using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Seq.Tests.Support;

namespace Seq.Tests.Security;

public sealed class SecretKeyLifecycleTests : IDisposable
{
    readonly string _root = TestDirectories.NewPath("keys");

    static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task The_key_given_at_first_start_is_kept_and_a_different_key_is_refused_by_the_key_file_and_by_the_database_without_touching_the_data()
    {
        var original = NewKey();
        string feedId;
        await using (var first = SeqsvrProcess.Start(_root, new Dictionary<string, string?> { ["SEQ_STORAGE_SECRETKEY"] = original }))
        {
            await first.WaitUntilHealthyAsync();
            await first.LoginAsAdminAsync();
            var created = await first.Client.PostAsJsonAsync("/api/feeds", new { Name = "Kept", Location = "/srv/nuget", NewPassword = "feed-secret" });
            created.StatusCode.ShouldBe(HttpStatusCode.Created);
            feedId = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("Id").GetString()!;
            await first.StopAsync();
        }

        await using (var withoutKey = SeqsvrProcess.Start(_root))
        {
            await withoutKey.WaitUntilHealthyAsync();
            await withoutKey.LoginAsAdminAsync();
            (await withoutKey.Client.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/feeds/{feedId}")).GetProperty("IsPasswordSet").GetBoolean().ShouldBeTrue();
            await withoutKey.StopAsync();
        }
        File.ReadAllText(Path.Combine(_root, "SecretKey")).Trim().ShouldBe(original);

        var other = NewKey();
        var originalId = Seq.Infrastructure.Security.SecretKey.FromBase64(original).KeyId;
        var otherId = Seq.Infrastructure.Security.SecretKey.FromBase64(other).KeyId;
        var keyFile = Path.Combine(_root, "SecretKey");

        // The key file under the root refuses a different configured key first...
        await using (var wrongKey = SeqsvrProcess.Start(_root, new Dictionary<string, string?> { ["SEQ_STORAGE_SECRETKEY"] = other }))
        {
            (await wrongKey.WaitForExitAsync()).ShouldBe(1);
            wrongKey.Output.ShouldContain($"SecretKey under the storage root holds secret key {originalId}");
            wrongKey.Output.ShouldNotContain(other);
            wrongKey.Output.ShouldNotContain(original);
        }

        // ...and when the key file itself was replaced (restored from elsewhere, say), the database's record refuses it.
        // Overwriting an existing file keeps its owner-only mode.
        File.WriteAllText(keyFile, other);
        await using (var replacedFile = SeqsvrProcess.Start(_root, new Dictionary<string, string?> { ["SEQ_STORAGE_SECRETKEY"] = other }))
        {
            (await replacedFile.WaitForExitAsync()).ShouldBe(1);
            replacedFile.Output.ShouldContain($"This storage was initialized with secret key {originalId}; the server was started with secret key {otherId}");
            replacedFile.Output.ShouldNotContain(other);
            replacedFile.Output.ShouldNotContain(original);
        }
        File.WriteAllText(keyFile, original);

        await using (var again = SeqsvrProcess.Start(_root, new Dictionary<string, string?> { ["SEQ_STORAGE_SECRETKEY"] = original }))
        {
            await again.WaitUntilHealthyAsync();
            await again.LoginAsAdminAsync();
            (await again.Client.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/feeds/{feedId}")).GetProperty("Name").GetString().ShouldBe("Kept");
            await again.StopAsync();
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}

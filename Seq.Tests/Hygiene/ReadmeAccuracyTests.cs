using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Hygiene;

/// <summary>What the README promises is what the server does (issue 10, item 9).</summary>
public sealed partial class ReadmeAccuracyTests
{
    static string Readme() => File.ReadAllText(Path.Combine(TestRunCleanupTests.RepositoryRoot(), "README.md"));

    [Fact]
    public void The_README_gives_the_failure_counts_after_which_logins_are_refused()
    {
        var match = ThrottleSentence().Match(Readme());
        match.Success.ShouldBeTrue("the README says after how many failures logins are refused");

        // The free failures are checked against the password; the one after them is the first to start a block.
        int.Parse(match.Groups["account"].Value).ShouldBe(LoginThrottleOptions.Default.AccountFreeFailures + 1);
        int.Parse(match.Groups["address"].Value).ShouldBe(LoginThrottleOptions.Default.AddressFreeFailures + 1);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/plain")]
    public async Task A_body_without_a_JSON_content_type_gets_415_saying_which_content_type_to_send(string? contentType)
    {
        await using var server = await TestServer.StartAsync(loginAsAdmin: false);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/login")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"Username":"admin","Password":"x"}""")),
        };
        if (contentType is not null)
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await server.CreateClient().SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType, body);
        JsonDocument.Parse(body).RootElement.GetProperty("Error").GetString()!.ShouldContain("send Content-Type: application/json");
    }

    [GeneratedRegex(@"After (?<account>\d+) failures for one account, or (?<address>\d+) from one address")]
    private static partial Regex ThrottleSentence();
}

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

    [Fact]
    public void The_README_says_strace_must_be_installed_and_names_every_test_class_that_runs_it()
    {
        var readme = Readme();
        var tests = Path.Combine(TestRunCleanupTests.RepositoryRoot(), "Seq.Tests");
        var separator = Path.DirectorySeparatorChar;
        var classes = Directory.EnumerateFiles(tests, "*Tests.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{separator}bin{separator}", StringComparison.Ordinal) && !f.Contains($"{separator}obj{separator}", StringComparison.Ordinal))
            .Where(f => Path.GetFileName(f) != "ReadmeAccuracyTests.cs" && File.ReadAllText(f).Contains("\"strace\"", StringComparison.Ordinal))
            .Select(Path.GetFileNameWithoutExtension)
            .ToList();

        classes.ShouldNotBeEmpty();
        readme.ShouldContain("a default Debian install does not have");
        classes.Where(c => !readme.Contains($"`{c}`", StringComparison.Ordinal)).ShouldBeEmpty("every test class that runs strace is named in the README");
    }

    [Fact]
    public void The_package_versions_comment_points_at_a_README_section_that_exists()
    {
        var props = File.ReadAllText(Path.Combine(TestRunCleanupTests.RepositoryRoot(), "Directory.Packages.props"));
        var reference = ReadmeSectionReference().Match(props);
        reference.Success.ShouldBeTrue("Directory.Packages.props names the README section it means");

        Readme().Split('\n').ShouldContain($"## {reference.Groups["section"].Value}");
    }

    [GeneratedRegex(@"After (?<account>\d+) failures for one account, or (?<address>\d+) from one address")]
    private static partial Regex ThrottleSentence();

    [GeneratedRegex("see README, \"(?<section>[^\"]+)\"")]
    private static partial Regex ReadmeSectionReference();
}

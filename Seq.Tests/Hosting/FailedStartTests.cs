using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

/// <summary>A start that fails uses up nothing that is given only once.</summary>
public sealed partial class FailedStartTests : IDisposable
{
    readonly string _root = TestDirectories.NewPath("failed-start");

    [GeneratedRegex(@"creating the administrator 'admin' with the password\s+(\S{24})\s")]
    private static partial Regex PrintedPassword();

    [Fact]
    public async Task A_first_start_on_a_port_in_use_exits_1_in_one_line_before_creating_the_administrator_and_the_next_start_shows_a_working_password()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        var generatePassword = new Dictionary<string, string?> { ["SEQ_FIRSTRUN_ADMINPASSWORD"] = "" };

        await using (var refused = SeqsvrProcess.Start(_root, new Dictionary<string, string?>(generatePassword) { ["SEQ_API_LISTENURIS"] = $"http://127.0.0.1:{port}" }))
        {
            (await refused.WaitForExitAsync()).ShouldBe(1);

            var problems = refused.Output.Split('\n').Where(line => line.Contains(" FTL]", StringComparison.Ordinal) || line.Contains(" ERR]", StringComparison.Ordinal)).ToList();
            problems.Count.ShouldBe(1, refused.Output);
            problems[0].ShouldContain(port);
            problems[0].ShouldContain("in use");
            refused.Output.ShouldNotContain("Exception");
            refused.Output.ShouldNotContain("   at ");
            refused.Output.ShouldNotContain("password", Case.Insensitive);
        }

        await using var started = SeqsvrProcess.Start(_root, generatePassword);
        await started.WaitUntilHealthyAsync();
        var printed = PrintedPassword().Match(started.Output);
        printed.Success.ShouldBeTrue(started.Output);
        using var login = await started.Client.PostAsJsonAsync("/api/users/login",
            new { Username = "admin", Password = printed.Groups[1].Value, NewPassword = "a-chosen-password-1" });
        login.StatusCode.ShouldBe(HttpStatusCode.OK, await login.Content.ReadAsStringAsync());
    }

    public void Dispose()
    {
        TestDirectories.Delete(_root);
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed partial class AirGapTests : IDisposable
{
    readonly string _root = TestDirectories.NewPath("airgap");

    [Fact]
    public async Task A_full_start_up_and_a_run_of_the_api_open_no_connection_beyond_the_machine()
    {
        Directory.CreateDirectory(_root);
        var trace = Path.Combine(_root, "connect.trace");

        await using (var server = SeqsvrProcess.Start(Path.Combine(_root, "storage"), wrapper: ["strace", "-f", "-qq", "-e", "trace=connect", "-o", trace]))
        {
            await server.WaitUntilHealthyAsync();
            await server.LoginAsAdminAsync();
            (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "air-gapped" })).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await server.Client.PostAsJsonAsync("/api/feeds", new { Name = "Local", Location = "/srv/nuget", NewPassword = "feed-secret" })).StatusCode.ShouldBe(HttpStatusCode.Created);
            (await server.Client.GetAsync("/api/feeds")).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await server.Client.GetAsync("/api")).StatusCode.ShouldBe(HttpStatusCode.OK);
            await server.StopAsync();
        }

        var connects = File.ReadAllLines(trace).Where(l => l.Contains("connect(", StringComparison.Ordinal)).ToList();
        connects.ShouldContain(l => l.Contains("AF_UNIX", StringComparison.Ordinal) && l.Contains(".s.PGSQL.", StringComparison.Ordinal),
            "the trace must show the server reaching its PostgreSQL, or it proves nothing");
        var outbound = connects.Where(l => l.Contains("AF_INET", StringComparison.Ordinal) && !IsLoopback(l)).ToList();
        outbound.ShouldBeEmpty("no connection may leave the machine:\n" + string.Join("\n", outbound));
    }

    static bool IsLoopback(string connectLine)
    {
        var address = InetAddress().Match(connectLine);
        return address.Success && IPAddress.TryParse(address.Groups["address"].Value, out var ip) && IPAddress.IsLoopback(ip);
    }

    [GeneratedRegex("""inet_(?:addr|pton)\((?:AF_INET6?, )?"(?<address>[^"]+)"\)""")]
    private static partial Regex InetAddress();

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}

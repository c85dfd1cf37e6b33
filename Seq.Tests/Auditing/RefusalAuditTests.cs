using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Seq.Api.Hosting;
using Seq.Tests.Support;
using Xunit.Abstractions;

namespace Seq.Tests.Auditing;

/// <summary>Refused requests cannot fill the audit disk, and the number refused is never lost (ADR 0011).</summary>
public sealed class RefusalAuditTests(ITestOutputHelper output) : IDisposable
{
    readonly TestPaths _paths = new();

    public void Dispose() => _paths.Dispose();

    string NewAuditDirectory() => _paths.New("audit-refusal");

    static string? Text(JsonElement e, string property) => e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    static bool IsRefusal(JsonElement e) => Text(e, "Category") == "Http" && Text(e, "Operation") == "Refuse";

    static bool IsSummary(JsonElement e) => Text(e, "Category") == "Http" && Text(e, "Operation") == "RefuseSummary";

    static long AuditBytes(string directory) =>
        Directory.Exists(directory) ? Directory.GetFiles(directory, "seq-audit-*.ndjson").Sum(f => new FileInfo(f).Length) : 0;

    static string HugeForwardedFor()
    {
        var header = new StringBuilder();
        for (var i = 0; header.Length < 28_000; i++)
            header.Append(header.Length == 0 ? "" : ", ").Append($"10.{i / 65536 % 256}.{i / 256 % 256}.{i % 256}");
        return header.ToString();
    }

    static Func<ServerOptions, ServerOptions> Audited(string directory, RefusalAuditOptions? refusals = null, IReadOnlyList<string>? trustedProxies = null) =>
        o => o with
        {
            Audit = new AuditOptions(directory, null, null),
            TrustedProxies = trustedProxies ?? [],
            ConfigureServices = services =>
            {
                if (refusals is not null)
                    services.AddSingleton(refusals);
            },
        };

    static async Task RefusedAsync(HttpClient client, string path = "/api/settings", string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (forwardedFor is not null)
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
        using var response = await client.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Two_hundred_refusals_with_a_huge_forwarded_header_from_one_address_write_a_few_kilobytes_and_keep_their_count_in_one_summary()
    {
        var directory = NewAuditDirectory();
        var server = await TestServer.StartAsync(Audited(directory));
        var forwarded = HugeForwardedFor();
        long before;
        try
        {
            await server.AuditEventsAsync(all => all.Any(e => Text(e, "Event") == "Complete"));
            before = AuditBytes(directory);
            var anonymous = server.CreateClient();
            for (var i = 0; i < 200; i++)
                await RefusedAsync(anonymous, forwardedFor: forwarded);

            // The bound holds for every audit event, not only refusals.
            using var change = new HttpRequestMessage(HttpMethod.Put, "/api/settings/setting-InstanceTitle")
            {
                Content = new StringContent("""{"Value":"forwarded a lot"}""", Encoding.UTF8, "application/json"),
            };
            change.Headers.TryAddWithoutValidation("X-Forwarded-For", string.Join(", ", Enumerable.Repeat("2001:db8:1234:5678:9abc:def0:1234:5678", 20)));
            (await server.Client.SendAsync(change)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        finally
        {
            // The open count is written when the server stops: that is part of what is tested.
            await server.DisposeAsync();
        }
        var written = AuditBytes(directory) - before;
        var events = server.AuditEvents();

        var begin = events.Single(e => Text(e, "Event") == "Begin" && Text(e, "Value") == "forwarded a lot");
        var beginForwarded = begin.GetProperty("XForwardedFor").EnumerateArray().Select(v => v.GetString()!).ToList();
        beginForwarded.Single().ShouldEndWith("…[truncated; 798 characters]");
        written -= events.Where(e => Text(e, "Operation") == "Update").Sum(e => (long)e.GetRawText().Length + 1);

        output.WriteLine($"200 refusals with a {forwarded.Length}-character X-Forwarded-For wrote {written} bytes of audit");
        written.ShouldBeLessThan(4 * 1024);
        var refusal = events.Single(IsRefusal);
        var recorded = refusal.GetProperty("XForwardedFor").EnumerateArray().Select(v => v.GetString()!).ToList();
        recorded.Count.ShouldBe(1);
        recorded[0].Length.ShouldBeLessThan(RequestAuthentication.MaximumRecordedValueLength + 64);
        recorded[0].ShouldStartWith(forwarded[..100]);
        recorded[0].ShouldEndWith($"…[truncated; {forwarded.Length} characters]");

        var summary = events.Single(IsSummary);
        summary.GetProperty("RefusalCount").GetInt64().ShouldBe(199);
        Text(summary, "RemoteIPAddress").ShouldBe("127.0.0.1");
        Text(summary, "Event").ShouldBe("Advise");
        Text(summary, "@m")!.ShouldStartWith("199 further requests from \"127.0.0.1\" were refused in the last ");
    }

    [Fact]
    public async Task When_a_window_ends_its_summary_is_written_while_the_server_runs_and_the_next_refusal_is_recorded_in_full()
    {
        var directory = NewAuditDirectory();
        await using var server = await TestServer.StartAsync(Audited(directory, new RefusalAuditOptions(TimeSpan.FromSeconds(1), 100)));
        var anonymous = server.CreateClient();
        for (var i = 0; i < 5; i++)
            await RefusedAsync(anonymous);

        var events = await server.AuditEventsAsync(all =>
            all.Count(IsRefusal) + all.Where(IsSummary).Sum(e => e.GetProperty("RefusalCount").GetInt64()) == 5);
        events.ShouldContain(e => IsSummary(e));

        // A summary was written, so the first window has ended: this refusal opens a new one and is recorded in full.
        await RefusedAsync(anonymous);
        var later = await server.AuditEventsAsync(all => all.Count(IsRefusal) + all.Where(IsSummary).Sum(e => e.GetProperty("RefusalCount").GetInt64()) == 6);
        later.Count(IsRefusal).ShouldBeGreaterThanOrEqualTo(2);
    }

    [Fact]
    public async Task Refusals_from_different_addresses_are_each_recorded_in_full_with_a_bounded_path()
    {
        var directory = NewAuditDirectory();
        var server = await TestServer.StartAsync(Audited(directory, trustedProxies: ["127.0.0.1"]));
        var longPath = "/api/settings/" + new string('x', 3000);
        try
        {
            var anonymous = server.CreateClient();
            for (var i = 1; i <= 5; i++)
            {
                await RefusedAsync(anonymous, i == 1 ? longPath : "/api/settings", $"203.0.113.{i}");
                await RefusedAsync(anonymous, "/api/settings", $"203.0.113.{i}");
            }
        }
        finally
        {
            await server.DisposeAsync();
        }
        var events = server.AuditEvents();

        var refusals = events.Where(IsRefusal).ToList();
        refusals.Select(e => Text(e, "RemoteIPAddress")).ShouldBe(Enumerable.Range(1, 5).Select(i => $"203.0.113.{i}"), ignoreOrder: true);
        var path = Text(refusals.Single(e => Text(e, "RemoteIPAddress") == "203.0.113.1"), "HttpRequestPath")!;
        path.Length.ShouldBeLessThan(RequestAuthentication.MaximumRecordedPathLength + 64);
        path.ShouldEndWith($"…[truncated; {longPath.Length} characters]");
        var summaries = events.Where(IsSummary).ToList();
        summaries.Select(e => Text(e, "RemoteIPAddress")).ShouldBe(Enumerable.Range(1, 5).Select(i => $"203.0.113.{i}"), ignoreOrder: true);
        summaries.ShouldAllBe(e => e.GetProperty("RefusalCount").GetInt64() == 1);
    }

    [Fact]
    public async Task Addresses_beyond_the_tracked_maximum_share_one_count_and_no_refusal_goes_uncounted()
    {
        var directory = NewAuditDirectory();
        var server = await TestServer.StartAsync(Audited(directory, new RefusalAuditOptions(TimeSpan.FromMinutes(10), 2), ["127.0.0.1"]));
        try
        {
            var anonymous = server.CreateClient();
            for (var i = 1; i <= 5; i++)
            {
                await RefusedAsync(anonymous, forwardedFor: $"198.51.100.{i}");
                await RefusedAsync(anonymous, forwardedFor: $"198.51.100.{i}");
            }
        }
        finally
        {
            await server.DisposeAsync();
        }
        var events = server.AuditEvents();

        events.Count(IsRefusal).ShouldBe(2);
        var summaries = events.Where(IsSummary).ToList();
        summaries.Where(e => Text(e, "RemoteIPAddress") is not null).Select(e => e.GetProperty("RefusalCount").GetInt64()).ShouldBe([1, 1]);
        var untracked = summaries.Single(e => e.GetProperty("RemoteIPAddress").ValueKind == JsonValueKind.Null);
        untracked.GetProperty("RefusalCount").GetInt64().ShouldBe(6);
        Text(untracked, "@m")!.ShouldContain("addresses not tracked one by one");
    }
}

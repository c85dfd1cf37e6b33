using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Seq.Api.Hosting;
using Seq.Tests.Support;
using Xunit.Abstractions;

namespace Seq.Tests.Auditing;

/// <summary>
/// What a refused request leaves in the audit trail, exactly: its status, the permission it lacked and why, and the
/// request's path and X-Forwarded-For values cut at their limits and not a character before (ADR 0011). Each refusal
/// comes through a trusted proxy from an address of its own, so each is recorded in full rather than counted.
/// </summary>
public sealed class RefusalRecordTests(ITestOutputHelper output) : IAsyncLifetime
{
    readonly TestPaths _paths = new();
    TestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_paths.New("audit-refusal-record"), null, null), TrustedProxies = ["127.0.0.1"] });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _paths.Dispose();
    }

    static string? Text(JsonElement e, string property) => e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Sends a GET of <paramref name="path"/> with one X-Forwarded-For line per value (the last is the client's address) and other header lines.</summary>
    async Task<RawHttp.Response> RawGetAsync(string path, IReadOnlyList<string> forwardedFor, params string[] headers)
    {
        var head = $"GET {path} HTTP/1.1\r\nHost: {_server.Address.Authority}\r\nConnection: close"
            + string.Concat(forwardedFor.Select(v => $"\r\nX-Forwarded-For: {v}"))
            + string.Concat(headers.Select(h => $"\r\n{h}"));
        return await RawHttp.SendAsync(_server.Address, head);
    }

    /// <summary>The one refusal recorded for <paramref name="address"/>.</summary>
    async Task<JsonElement> RefusalFromAsync(string address)
    {
        bool Matches(JsonElement e) => Text(e, "Category") == "Http" && Text(e, "Operation") == "Refuse" && Text(e, "RemoteIPAddress") == address;
        var events = await _server.AuditEventsAsync(all => all.Any(Matches));
        var refusal = events.Single(Matches);
        output.WriteLine(refusal.GetRawText().Length > 600 ? refusal.GetRawText()[..600] + "…" : refusal.GetRawText());
        return refusal;
    }

    static List<string> ForwardedOf(JsonElement refusal) =>
        [.. refusal.GetProperty("XForwardedFor").EnumerateArray().Select(v => v.GetString()!)];

    [Fact]
    public async Task A_refusal_for_want_of_a_valid_key_records_401_the_demanded_permission_and_the_reason()
    {
        var response = await RawGetAsync("/api/settings", ["203.0.113.101"], $"{RequestAuthentication.ApiKeyHeader}: not-a-key-of-this-server");
        response.Status.ShouldBe(401);
        JsonDocument.Parse(response.Body).RootElement.GetProperty("Error").GetString().ShouldBe("The API key is not valid.");

        var refusal = await RefusalFromAsync("203.0.113.101");
        Text(refusal, "Event").ShouldBe("Advise");
        Text(refusal, "@mt").ShouldBe("Refused {HttpRequestMethod} {HttpRequestPath} with {StatusCode}: {Reason}");
        refusal.GetProperty("StatusCode").GetInt32().ShouldBe(401);
        Text(refusal, "DemandedPermission").ShouldBe("Read");
        Text(refusal, "Reason").ShouldBe("The API key is not valid.");
        Text(refusal, "HttpRequestMethod").ShouldBe("GET");
        Text(refusal, "HttpRequestPath").ShouldBe("/api/settings");
        ForwardedOf(refusal).ShouldBe(["203.0.113.101"]);
    }

    [Fact]
    public async Task A_refusal_for_want_of_a_permission_records_403_and_the_permission_the_key_lacked()
    {
        using var created = await _server.Client.PostAsJsonAsync("/api/apikeys", new { Title = "ingest only", AssignedPermissions = new[] { "Ingest" } });
        var token = (await TestServer.ReadAsync(created, HttpStatusCode.Created)).GetProperty("Token").GetString()!;
        _server.Secrets.Add(token);

        var response = await RawGetAsync("/api/settings", ["203.0.113.102"], $"{RequestAuthentication.ApiKeyHeader}: {token}");
        response.Status.ShouldBe(403);

        var refusal = await RefusalFromAsync("203.0.113.102");
        refusal.GetProperty("StatusCode").GetInt32().ShouldBe(403);
        Text(refusal, "DemandedPermission").ShouldBe("Read");
        Text(refusal, "Reason").ShouldBe(JsonDocument.Parse(response.Body).RootElement.GetProperty("Error").GetString());
        Text(refusal, "Reason")!.ShouldContain("Read");
    }

    public static TheoryData<string, int, string, string> Paths()
    {
        const string prefix = "/api/settings/";
        var limit = RequestAuthentication.MaximumRecordedPathLength;
        var atLimit = prefix + new string('a', limit - prefix.Length);
        var pastLimit = prefix + new string('b', limit + 1 - prefix.Length);
        // U+1F600 is a surrogate pair in UTF-16: its high half would be the last character kept.
        var pairAtLimit = prefix + new string('c', limit - 1 - prefix.Length);
        return new()
        {
            { atLimit, 111, atLimit, "kept whole at its limit" },
            { pastLimit, 112, $"{pastLimit[..limit]}…[truncated; {limit + 1} characters]", "cut one past" },
            { pairAtLimit + "%F0%9F%98%80", 113, $"{pairAtLimit}…[truncated; {limit + 1} characters]", "cut before a pair it would split" },
            { pairAtLimit + "d%F0%9F%98%80", 114, $"{pairAtLimit}d…[truncated; {limit + 2} characters]", "a pair wholly past the limit" },
        };
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task The_recorded_path_is_cut_at_its_limit_and_never_inside_a_surrogate_pair(string path, int client, string expected, string why)
    {
        (await RawGetAsync(path, [$"203.0.113.{client}"])).Status.ShouldBe(401);

        var refusal = await RefusalFromAsync($"203.0.113.{client}");
        Text(refusal, "HttpRequestPath").ShouldBe(expected, why);
    }

    static string Long(char c, int length) => new(c, length);

    public static TheoryData<string[], string[], string> ForwardedLists()
    {
        var limit = RequestAuthentication.MaximumRecordedValueLength;
        var count = RequestAuthentication.MaximumRecordedForwardedValues;
        string[] eightAtLimit = [.. Enumerable.Range(1, count - 1).Select(i => Long((char)('a' + i), limit)), "203.0.113.121"];
        string[] oneLong = [Long('y', limit + 44), "203.0.113.122"];
        string[] eightOneLong = [Long('z', limit + 1), .. Enumerable.Range(1, count - 2).Select(i => $"10.0.0.{i}"), "203.0.113.123"];
        string[] ten = [.. Enumerable.Range(1, count + 1).Select(i => $"10.0.1.{i}"), "203.0.113.124"];
        return new()
        {
            { eightAtLimit, eightAtLimit, "as many values as are kept, each at its length limit: kept as sent" },
            { oneLong, [$"{Long('y', limit)}…[truncated; {limit + 44} characters]", "203.0.113.122"], "a long value among short ones is cut" },
            { eightOneLong, [$"{Long('z', limit)}…[truncated; {limit + 1} characters]", .. eightOneLong[1..]], "eight values, one cut: no summary" },
            {
                ten,
                [.. ten[..count], $"…[{ten.Length - count} more values not recorded; {ten.Sum(v => v.Length)} characters in all]"],
                "past the count: the first kept and the rest summed up"
            },
        };
    }

    [Theory]
    [MemberData(nameof(ForwardedLists))]
    public async Task Each_X_Forwarded_For_line_is_recorded_up_to_the_count_and_length_limits_and_what_was_cut_is_said(string[] lines, string[] expected, string why)
    {
        // Header values are ASCII on the wire, so no surrogate pair can arrive in one; the path cases test that cut.
        var address = lines[^1];
        var response = await RawGetAsync("/api/settings", lines);
        response.Status.ShouldBe(401, why);

        ForwardedOf(await RefusalFromAsync(address)).ShouldBe(expected, ignoreOrder: false, customMessage: why);
    }
}

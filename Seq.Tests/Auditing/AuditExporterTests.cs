using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// <see cref="AuditExporter"/> in process against a loopback stand-in whose answers each test chooses: what is sent
/// (only events above what the server holds, once, in order, in batches, exactly as written, with the key and the
/// CLEF content type), how the server's answer to the search is read in each shape it may take, the answers from which
/// what the server holds cannot be told (nothing is sent then), and the refusals. `AuditExportTests` runs the same
/// export through the `seqsvr audit export` command.
/// </summary>
public sealed class AuditExporterTests : IAsyncDisposable
{
    const string ApiKey = "exporter-test-key-0123456789";
    readonly SecretKey _key = SecretKey.Generate();
    readonly ConcurrentQueue<Request> _requests = new();
    Func<(int Status, string Body)> _search = () => (200, "[]");
    Func<int, (int Status, string Body)> _post = _ => (201, "");
    WebApplication? _app;
    HttpClient? _client;

    sealed record Request(string Method, string Path, string? Filter, string? Count, string? Key, string? ContentType, byte[] Body);

    List<Request> Searches => [.. _requests.Where(r => r.Method == "GET")];

    List<Request> Posts => [.. _requests.Where(r => r.Method == "POST")];

    async Task<AuditExporter> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var query = context.Request.Query;
            _requests.Enqueue(new Request(context.Request.Method, context.Request.Path.Value!,
                query.ContainsKey("filter") ? query["filter"].ToString() : null, query.ContainsKey("count") ? query["count"].ToString() : null,
                context.Request.Headers.TryGetValue("X-Seq-ApiKey", out var key) ? key.ToString() : null, context.Request.ContentType, body.ToArray()));
            var (status, answer) = context.Request.Method == "GET" ? _search() : _post(_requests.Count(r => r.Method == "POST"));
            context.Response.StatusCode = status;
            if (answer.Length > 0)
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(answer);
            }
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address + "/") };
        return new AuditExporter(_client, ApiKey);
    }

    /// <summary>A session of <paramref name="lines"/> lines written by the real <see cref="AuditLog"/> (its start line included).</summary>
    async Task<List<string>> WriteAsync(AuditSession session, int lines)
    {
        var target = new MemoryAuditTarget();
        var principal = new Principal(PrincipalType.User, "alice", "user-alice", null, new HashSet<Permission>());
        await using (var log = new AuditLog(target, session, _key, TimeProvider.System))
        {
            while (target.Lines.Count < lines)
                await log.WriteAsync(new AuditEntry("Export", "Step", AuditEventKind.Begin, Guid.NewGuid(), "Step {Number}", [new("Number", target.Lines.Count)]),
                    principal, null, CancellationToken.None);
        }
        target.Lines.Count.ShouldBe(lines);
        return target.Lines;
    }

    static AuditFileBytes File(string name, IEnumerable<string> lines) => new(name, Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))));

    static string FileName(AuditSession session, int generation = 1) => $"seq-audit-20261202-{session.Id}{(generation > 1 ? $"-{generation}" : "")}.ndjson";

    static long SequenceOf(string line) => JsonDocument.Parse(line).RootElement.GetProperty("SequenceNumber").GetInt64();

    static List<string> Sent(IEnumerable<Request> posts) =>
        [.. posts.SelectMany(p => Encoding.UTF8.GetString(p.Body).Split('\n')).Where(l => l.Length > 0)];

    static string Held(params long[] sequences) =>
        JsonSerializer.Serialize(sequences.Select(s => new { Properties = new object[] { new { Name = "AuditSession", Value = (object)"x" }, new { Name = "SequenceNumber", Value = (object)s } } }));

    [Fact]
    public async Task Only_events_above_the_highest_held_go_once_in_order_in_batches_of_five_hundred_exactly_as_written_with_the_key()
    {
        var session = AuditSession.Start();
        var lines = await WriteAsync(session, 1_208);
        lines.Select(SequenceOf).ShouldBe(Enumerable.Range(1, 1_208).Select(i => (long)i));
        // The server holds 3, 7 and 5: the highest counts, not the first or the last it lists.
        _search = () => (200, Held(3, 7, 5));
        var exporter = await StartAsync();
        var shuffled = lines.OrderBy(_ => Random.Shared.Next()).ToList();

        var result = await exporter.ExportAsync([File(FileName(session), shuffled)], CancellationToken.None);

        result.ShouldBe([new AuditExportedSession(session.Id, 7, 1_201)]);
        var search = Searches.ShouldHaveSingleItem();
        search.Path.ShouldBe("/api/events");
        search.Filter.ShouldBe($"AuditSession = '{session.Id}'");
        search.Count.ShouldBe("100");
        search.Key.ShouldBe(ApiKey);
        _requests.First().Method.ShouldBe("GET", "the search comes before anything is sent");

        var posts = Posts;
        posts.Select(p => Encoding.UTF8.GetString(p.Body).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length).ShouldBe([500, 500, 201]);
        foreach (var post in posts)
        {
            post.Path.ShouldBe("/api/events/raw");
            post.Key.ShouldBe(ApiKey);
            post.ContentType.ShouldBe("application/vnd.serilog.clef");
        }
        // Byte for byte: each line as written (its chain value with it) and one newline after each, nothing else.
        posts.SelectMany(p => p.Body).ToArray().ShouldBe(Encoding.UTF8.GetBytes(string.Concat(lines.Skip(7).Select(l => l + "\n"))));
    }

    [Fact]
    public async Task Each_event_goes_once_however_often_it_is_in_the_files_and_only_with_its_own_session()
    {
        AuditSession a = AuditSession.Start(), b = AuditSession.Start(), other = AuditSession.Start();
        var linesA = await WriteAsync(a, 9);
        var linesB = await WriteAsync(b, 4);
        // Sequence number 11, which session a does not have: it would be added, not dropped as a copy, if it counted.
        var otherLine = (await WriteAsync(other, 12))[10];
        var exporter = await StartAsync();

        // Session a in two files that overlap (lines written again after a failed fsync) with a line repeated, a torn
        // line and a line of another session among them; session b's lines in reverse.
        var result = await exporter.ExportAsync(
        [
            File(FileName(a), [.. linesA.Take(6), linesA[2], "{\"torn", otherLine]),
            File(FileName(b), Enumerable.Reverse(linesB)),
            File(FileName(a, 2), linesA.Skip(4)),
        ], CancellationToken.None);

        result.ShouldBe([new AuditExportedSession(a.Id, 0, 9), new AuditExportedSession(b.Id, 0, 4)], ignoreOrder: true);
        Searches.Select(s => s.Filter).ShouldBe([$"AuditSession = '{a.Id}'", $"AuditSession = '{b.Id}'"], ignoreOrder: true);
        var posts = Posts;
        posts.Count.ShouldBe(2, "one batch per session");
        posts.Select(p => Sent([p])).ShouldBe([linesA, linesB], ignoreOrder: true);
    }

    [Fact]
    public async Task A_session_id_with_quotes_and_characters_that_mean_something_in_a_url_reaches_the_search_filter_intact()
    {
        var session = new AuditSession("it's a+b&count=1#x");
        var lines = await WriteAsync(session, 3);
        var exporter = await StartAsync();

        // The name does not parse as an audit file's, so the session is the one its lines name.
        var result = await exporter.ExportAsync([File("copied-trail.ndjson", lines)], CancellationToken.None);

        result.ShouldBe([new AuditExportedSession(session.Id, 0, 3)]);
        var search = Searches.ShouldHaveSingleItem();
        search.Filter.ShouldBe("AuditSession = 'it''s a+b&count=1#x'");
        search.Count.ShouldBe("100");
        Sent(Posts).ShouldBe(lines);
    }

    [Fact]
    public async Task Nothing_is_sent_when_the_server_holds_every_event_already()
    {
        var session = AuditSession.Start();
        var lines = await WriteAsync(session, 5);
        _search = () => (200, Held(5, 4, 3, 2, 1));
        var exporter = await StartAsync();

        var result = await exporter.ExportAsync([File(FileName(session), lines)], CancellationToken.None);

        result.ShouldBe([new AuditExportedSession(session.Id, 5, 0)]);
        Posts.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("[]", 0)]
    [InlineData("""{"Events":[]}""", 0)]
    [InlineData("""[{"Properties":[{"Name":"AuditSession","Value":"s"},{"Name":"SequenceNumber","Value":4}]}]""", 4)]
    [InlineData("""{"Events":[{"Properties":[{"Name":"SequenceNumber","Value":6}]}],"Statistics":{}}""", 6)]
    [InlineData("""[{"Properties":{"SequenceNumber":9}},{"Properties":{"SequenceNumber":2}}]""", 9)]
    [InlineData("""{"Events":[{"Properties":{"AuditSession":"s","SequenceNumber":2}},{"Properties":{"SequenceNumber":8}}]}""", 8)]
    [InlineData("""[{"Properties":[{"Name":"Count","Value":11},{"Name":"sequencenumber","Value":10},{"Name":"SequenceNumber","Value":3}]}]""", 3)]
    [InlineData("""[{"Properties":[1,"x",{"Value":10},{"Name":"SequenceNumber","Value":3}]}]""", 3)]
    [InlineData("""[{"Properties":{"Count":11,"SequenceNumber":1}}]""", 1)]
    public async Task The_highest_sequence_number_held_is_read_from_each_shape_of_answer(string answer, long held)
    {
        var session = AuditSession.Start();
        var lines = await WriteAsync(session, 12);
        _search = () => (200, answer);
        var exporter = await StartAsync();

        var result = await exporter.ExportAsync([File(FileName(session), lines)], CancellationToken.None);

        result.ShouldBe([new AuditExportedSession(session.Id, held, 12 - (int)held)]);
        Sent(Posts).ShouldBe(lines.Skip((int)held));
    }

    [Theory]
    [InlineData("\"none\"", "The server's answer to the search is not a list of events.")]
    [InlineData("null", "The server's answer to the search is not a list of events.")]
    [InlineData("7", "The server's answer to the search is not a list of events.")]
    [InlineData("{}", "The server's answer to the search is not a list of events.")]
    [InlineData("""{"events":[]}""", "The server's answer to the search is not a list of events.")]
    [InlineData("""{"Events":{}}""", "The server's answer to the search is not a list of events.")]
    [InlineData("""{"Events":null}""", "The server's answer to the search is not a list of events.")]
    [InlineData("[1]", null)]
    [InlineData("[{}]", null)]
    [InlineData("""[{"properties":{"SequenceNumber":3}}]""", null)]
    [InlineData("""[{"Properties":"x"}]""", null)]
    [InlineData("""[{"Properties":[]}]""", null)]
    [InlineData("""[{"Properties":{}}]""", null)]
    [InlineData("""[{"Properties":[{"Name":"SequenceNumber"}]}]""", null)]
    [InlineData("""[{"Properties":[{"Name":7,"Value":3}]}]""", null)]
    [InlineData("""[{"Properties":[{"Name":"SequenceNumber","Value":1.5}]}]""", null)]
    [InlineData("""[{"Properties":[{"Name":"SequenceNumber","Value":"7"}]}]""", null)]
    [InlineData("""[{"Properties":[{"Name":"SequenceNumber","Value":1e30}]}]""", null)]
    [InlineData("""[{"Properties":{"SequenceNumber":null}}]""", null)]
    [InlineData("""[{"Properties":{"SequenceNumber":3}},{"Properties":{"Sequence":4}}]""", null)]
    public async Task An_answer_from_which_what_the_server_holds_cannot_be_told_stops_the_export_before_anything_is_sent(string answer, string? message)
    {
        var session = AuditSession.Start();
        var lines = await WriteAsync(session, 4);
        _search = () => (200, answer);
        var exporter = await StartAsync();

        var refused = await Should.ThrowAsync<AuditExportException>(() => exporter.ExportAsync([File(FileName(session), lines)], CancellationToken.None));

        refused.Message.ShouldBe(message ?? $"The server answered events of session {session.Id} without a SequenceNumber, so what it holds cannot be told.");
        Posts.ShouldBeEmpty();
    }

    [Fact]
    public async Task An_answer_that_is_not_json_stops_the_export_before_anything_is_sent()
    {
        var session = AuditSession.Start();
        var lines = await WriteAsync(session, 4);
        _search = () => (200, "{");
        var exporter = await StartAsync();

        await Should.ThrowAsync<JsonException>(() => exporter.ExportAsync([File(FileName(session), lines)], CancellationToken.None));

        Posts.ShouldBeEmpty();
    }

    [Theory]
    [InlineData(401, "[]")]
    [InlineData(201, "[]")]
    [InlineData(404, "")]
    public async Task A_search_answered_with_anything_but_200_stops_the_export_with_the_status(int status, string body)
    {
        var session = AuditSession.Start();
        var lines = await WriteAsync(session, 4);
        _search = () => (status, body);
        var exporter = await StartAsync();

        var refused = await Should.ThrowAsync<AuditExportException>(() => exporter.ExportAsync([File(FileName(session), lines)], CancellationToken.None));

        var reason = status switch { 401 => "Unauthorized", 201 => "Created", _ => "Not Found" };
        refused.Message.ShouldBe($"The server answered {status} ({reason}) to the search for session {session.Id}'s events.");
        refused.Message.ShouldNotContain(ApiKey);
        Posts.ShouldBeEmpty();
    }

    [Theory]
    [InlineData(400, 3, ": bad")]
    [InlineData(400, 499, ": ")]
    [InlineData(400, 500, "")]
    [InlineData(400, 0, "")]
    [InlineData(200, 0, "")]
    [InlineData(503, 1, ": b")]
    public async Task A_batch_answered_with_anything_but_201_stops_the_export_with_the_status_and_a_short_reason(int status, int length, string detail)
    {
        var session = AuditSession.Start();
        var lines = await WriteAsync(session, 1_001);
        var reason = "bad" + new string('x', Math.Max(0, length - 3));
        reason = reason[..length];
        // The first batch is stored, the second refused: the third is not sent.
        _post = n => n == 1 ? (201, "") : (status, reason);
        var exporter = await StartAsync();

        var refused = await Should.ThrowAsync<AuditExportException>(() => exporter.ExportAsync([File(FileName(session), lines)], CancellationToken.None));

        var phrase = status switch { 400 => "Bad Request", 200 => "OK", _ => "Service Unavailable" };
        var expected = detail.Length == 0 ? "" : ": " + reason;
        refused.Message.ShouldBe($"The server answered {status} ({phrase}) to a batch of audit events{expected}.");
        Posts.Count.ShouldBe(2);
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        if (_app is not null)
            await _app.DisposeAsync();
    }
}

using System.Text;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Domain.Security;
using Seq.Infrastructure.Security;
using Seq.Tests.Credentials;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// <see cref="AuditReplay"/> on sessions the real <see cref="AuditLog"/> wrote into memory with a clock the test moves:
/// each row's outcome, principal, reason, duration and request, the filter, and lines in any order.
/// </summary>
public sealed class AuditReplayTests
{
    static readonly DateTimeOffset Start = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);
    readonly SecretKey _key = SecretKey.Generate();
    readonly ManualClock _clock = new(Start);
    static readonly Principal Alice = new(PrincipalType.User, "alice", "user-alice", null, new HashSet<Permission>());
    static readonly Principal Robot = new(PrincipalType.ApiKey, "robot", "apikey-robot", null, new HashSet<Permission>());


    sealed record Step(string Operation, AuditEventKind Event, Guid Id, Principal Principal, TimeSpan After, string? Exception = null, HttpRequestInfo? Http = null);

    async Task<(string Session, List<string> Lines)> WriteAsync(bool end, params Step[] steps)
    {
        var target = new MemoryAuditTarget();
        var session = AuditSession.Start();
        await using (var log = new AuditLog(target, session, _key, _clock))
        {
            foreach (var step in steps)
            {
                _clock.Advance(step.After);
                await log.WriteAsync(new AuditEntry("Replay", step.Operation, step.Event, step.Id, "Step {Name}", [new("Name", step.Operation)], step.Exception),
                    step.Principal, step.Http, CancellationToken.None);
            }
            if (end)
                await log.EndAsync(CancellationToken.None);
        }
        return (session.Id, target.Lines);
    }

    static AuditFileBytes File(string name, IEnumerable<string> lines) => new(name, Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))));

    static string FileName(string session, int generation = 1) => $"seq-audit-20261202-{session}{(generation > 1 ? $"-{generation}" : "")}.ndjson";

    [Fact]
    public async Task Each_operation_is_one_row_with_its_outcome_principal_reason_duration_and_request()
    {
        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), c = Guid.NewGuid(), d = Guid.NewGuid(), e = Guid.NewGuid();
        var http = new HttpRequestInfo("PUT", "/api/settings/x", "10.0.0.7", null);
        var (session, lines) = await WriteAsync(false,
            new Step("Login", AuditEventKind.Begin, a, Principal.Anonymous, TimeSpan.FromSeconds(1), Http: http),
            new Step("Change", AuditEventKind.Begin, b, Alice, TimeSpan.FromSeconds(1)),
            new Step("Login", AuditEventKind.Complete, a, Alice, TimeSpan.FromMilliseconds(1500)),
            new Step("Change", AuditEventKind.Fail, b, Alice, TimeSpan.FromSeconds(2), "System.IO.IOException: the disk is full\r\n   at Somewhere()"),
            new Step("Delete", AuditEventKind.Begin, c, Robot, TimeSpan.FromSeconds(1)),
            new Step("Delete", AuditEventKind.Abandon, c, Robot, TimeSpan.FromSeconds(1), "Permission denied: you may not"),
            new Step("Look", AuditEventKind.Advise, d, Robot, TimeSpan.FromSeconds(1)),
            new Step("Stuck", AuditEventKind.Begin, e, Alice, TimeSpan.FromSeconds(1)));

        var rows = AuditReplay.Timeline([File(FileName(session), lines)], new AuditReplayFilter());

        rows.ShouldBe(
        [
            new(Start.AddSeconds(1), session, 1, a.ToString(), "alice", "User", "Replay", "Login", "Complete", null, 2500, "PUT", "/api/settings/x", "10.0.0.7"),
            new(Start.AddSeconds(2), session, 2, b.ToString(), "alice", "User", "Replay", "Change", "Fail", "the disk is full", 3500, null, null, null),
            new(Start.AddSeconds(6.5), session, 5, c.ToString(), "robot", "ApiKey", "Replay", "Delete", "Abandon", "Permission denied: you may not", 1000, null, null, null),
            new(Start.AddSeconds(8.5), session, 7, d.ToString(), "robot", "ApiKey", "Replay", "Look", "Advise", null, 0, null, null, null),
            new(Start.AddSeconds(9.5), session, 8, e.ToString(), "alice", "User", "Replay", "Stuck", AuditReplay.Interrupted, null, null, null, null, null),
        ]);
    }

    [Fact]
    public async Task A_Begin_never_closed_in_a_session_that_ended_is_unclosed_and_a_closing_event_alone_is_its_own_outcome()
    {
        Guid open = Guid.NewGuid(), orphan = Guid.NewGuid();
        var (session, lines) = await WriteAsync(true,
            new Step("Open", AuditEventKind.Begin, open, Alice, TimeSpan.FromSeconds(1)),
            new Step("Orphan", AuditEventKind.Fail, orphan, Alice, TimeSpan.FromSeconds(1), "System.Exception: a closing event alone has no closing event"));

        var rows = AuditReplay.Timeline([File(FileName(session), lines)], new AuditReplayFilter());

        rows.Where(r => r.Category == "Replay").Select(r => (r.Operation, r.Outcome, r.Reason, r.DurationMilliseconds)).ShouldBe(
            [("Open", "Unclosed", null, null), ("Orphan", "Fail", null, 0.0)]);
        rows.Select(r => r.Operation).ShouldContain("SessionEnd");
    }

    [Fact]
    public async Task The_closing_principal_names_who_did_it_only_when_the_Begin_was_anonymous()
    {
        Guid login = Guid.NewGuid(), change = Guid.NewGuid(), logout = Guid.NewGuid();
        var (session, lines) = await WriteAsync(false,
            new Step("Login", AuditEventKind.Begin, login, Principal.Anonymous, TimeSpan.Zero),
            new Step("Login", AuditEventKind.Complete, login, Alice, TimeSpan.Zero),
            new Step("Change", AuditEventKind.Begin, change, Alice, TimeSpan.Zero),
            new Step("Change", AuditEventKind.Complete, change, Robot, TimeSpan.Zero),
            new Step("Logout", AuditEventKind.Begin, logout, Principal.Anonymous, TimeSpan.Zero),
            new Step("Logout", AuditEventKind.Complete, logout, Principal.Anonymous, TimeSpan.Zero));

        AuditReplay.Timeline([File(FileName(session), lines)], new AuditReplayFilter()).Select(r => (r.Operation, r.Principal, r.PrincipalType)).ShouldBe(
            [("Login", "alice", "User"), ("Change", "alice", "User"), ("Logout", Principal.PublicName, "Public")]);
    }

    [Fact]
    public async Task The_filter_keeps_the_rows_that_meet_every_condition_given_whatever_the_case()
    {
        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), c = Guid.NewGuid();
        var (session, lines) = await WriteAsync(false,
            new Step("Login", AuditEventKind.Record, a, Alice, TimeSpan.FromSeconds(1)),
            new Step("Change", AuditEventKind.Record, b, Robot, TimeSpan.FromSeconds(1)),
            new Step("Login", AuditEventKind.Record, c, Robot, TimeSpan.FromSeconds(1)));
        List<string> Kept(AuditReplayFilter filter) => [.. AuditReplay.Timeline([File(FileName(session), lines)], filter).Select(r => r.OperationId)];

        Kept(new()).ShouldBe([a.ToString(), b.ToString(), c.ToString()]);
        Kept(new(Category: "rEPLAY")).Count.ShouldBe(3);
        Kept(new(Category: "Audit")).ShouldBeEmpty();
        Kept(new(Operation: "login")).ShouldBe([a.ToString(), c.ToString()]);
        Kept(new(Principal: "ROBOT")).ShouldBe([b.ToString(), c.ToString()]);
        Kept(new(Operation: "LOGIN", Principal: "robot")).ShouldBe([c.ToString()]);
        Kept(new(From: Start.AddSeconds(2))).ShouldBe([b.ToString(), c.ToString()]);
        Kept(new(To: Start.AddSeconds(2))).ShouldBe([a.ToString()]);
        Kept(new(From: Start.AddSeconds(2), To: Start.AddSeconds(3))).ShouldBe([b.ToString()]);
    }

    [Fact]
    public async Task Lines_in_any_order_with_copies_give_the_timeline_of_the_lines_in_order()
    {
        var steps = new List<Step>();
        for (var i = 0; i < 12; i++)
        {
            var id = Guid.NewGuid();
            steps.Add(new Step($"Op{i}", AuditEventKind.Begin, id, Alice, TimeSpan.FromSeconds(1)));
            if (i % 4 != 3)
                steps.Add(new Step($"Op{i}", i % 2 == 0 ? AuditEventKind.Complete : AuditEventKind.Abandon, id, Alice, TimeSpan.FromSeconds(1), i % 2 == 0 ? null : $"E: no {i}"));
        }
        var (session, lines) = await WriteAsync(false, [.. steps]);
        var expected = AuditReplay.Timeline([File(FileName(session), lines)], new AuditReplayFilter());
        expected.Count.ShouldBe(12);
        expected.Count(r => r.Outcome == AuditReplay.Interrupted).ShouldBe(3);

        var random = new Random(18);
        for (var round = 0; round < 40; round++)
        {
            // Each line once or twice, shuffled, split over two files, the second of which is given first.
            var shuffled = lines.SelectMany(l => random.Next(3) == 0 ? new[] { l, l } : [l]).OrderBy(_ => random.Next()).ToList();
            var cut = random.Next(shuffled.Count);
            var timeline = AuditReplay.Timeline(
                [File(FileName(session, 2), shuffled.Skip(cut)), File(FileName(session), shuffled.Take(cut))], new AuditReplayFilter());
            timeline.ShouldBe(expected, $"round {round}");
        }
    }

    [Fact]
    public async Task Of_two_lines_with_one_sequence_number_the_first_read_counts_and_lines_of_other_sessions_or_not_events_do_not()
    {
        Guid a = Guid.NewGuid();
        var (session, lines) = await WriteAsync(false,
            new Step("Op", AuditEventKind.Begin, a, Alice, TimeSpan.FromSeconds(1)),
            new Step("Op", AuditEventKind.Complete, a, Alice, TimeSpan.FromSeconds(1)));
        // The other session's third line has a sequence number this session lacks: counted, it would make a row.
        var (other, otherLines) = await WriteAsync(false, [.. Enumerable.Range(0, 3).Select(_ => new Step("Other", AuditEventKind.Record, Guid.NewGuid(), Alice, TimeSpan.FromSeconds(1)))]);
        var abandoned = lines[1].Replace("\"Event\":\"Complete\"", "\"Event\":\"Abandon\"", StringComparison.Ordinal);
        abandoned.ShouldNotBe(lines[1]);

        AuditReplay.Timeline([File(FileName(session), [lines[0], abandoned, lines[1]])], new AuditReplayFilter()).Single().Outcome.ShouldBe("Abandon");
        AuditReplay.Timeline([File(FileName(session), [lines[0], lines[1], abandoned])], new AuditReplayFilter()).Single().Outcome.ShouldBe("Complete");

        // A line of another session in this session's file, a torn line and a continuation link are left out; an unnamed
        // file goes by the first of its lines that names a session (not by an object without one), an empty one by nothing.
        var link = $"{{\"AuditSession\":\"{session}\",\"ContinuesFrom\":\"x\",\"ContinuesAfter\":1,\"ContinuesFromAuditChain\":null}}";
        var rows = AuditReplay.Timeline([File("copy.ndjson", ["{}", "\0\0{\"torn", link, lines[0], otherLines[2], "", "  ", lines[1]]), File("empty.ndjson", [])], new AuditReplayFilter());
        rows.Single().ShouldSatisfyAllConditions(r => r.AuditSession.ShouldBe(session), r => r.Outcome.ShouldBe("Complete"));
        other.ShouldNotBe(session);
    }

    [Fact]
    public async Task A_session_that_started_but_did_not_end_leaves_its_open_operations_interrupted_not_unclosed()
    {
        // Its SessionStart line is in the same category as the End line, and is not one.
        var target = new MemoryAuditTarget();
        var session = AuditSession.Start();
        var open = Guid.NewGuid();
        await using (var log = new AuditLog(target, session, _key, _clock))
        {
            await log.StartSessionAsync(null, 0, null, false, CancellationToken.None);
            await log.WriteAsync(new AuditEntry("Replay", "Open", AuditEventKind.Begin, open, "Step {Name}", [new("Name", "Open")]), Alice, null, CancellationToken.None);
        }

        var rows = AuditReplay.Timeline([File(FileName(session.Id), target.Lines)], new AuditReplayFilter());

        rows.Select(r => (r.Category, r.Operation, r.Outcome)).ShouldBe(
            [(AuditCatalogue.SessionStarted.Category, AuditCatalogue.SessionStarted.Operation, "Record"), ("Replay", "Open", AuditReplay.Interrupted)]);
    }

    [Fact]
    public async Task Rows_of_several_sessions_are_ordered_by_time_then_session_then_sequence_number()
    {
        var (first, firstLines) = await WriteAsync(false,
            new Step("A", AuditEventKind.Record, Guid.NewGuid(), Alice, TimeSpan.FromSeconds(1)),
            new Step("B", AuditEventKind.Record, Guid.NewGuid(), Alice, TimeSpan.Zero));
        var (second, secondLines) = await WriteAsync(false,
            new Step("C", AuditEventKind.Record, Guid.NewGuid(), Alice, TimeSpan.Zero),
            new Step("D", AuditEventKind.Record, Guid.NewGuid(), Alice, TimeSpan.FromSeconds(1)));

        var rows = AuditReplay.Timeline([File(FileName(second), secondLines.AsEnumerable().Reverse()), File(FileName(first), firstLines.AsEnumerable().Reverse())], new AuditReplayFilter());

        rows.Select(r => r.Operation).ShouldBe(string.CompareOrdinal(first, second) < 0 ? ["A", "B", "C", "D"] : ["C", "A", "B", "D"]);
        rows.Select(r => r.Time).ShouldBe([Start.AddSeconds(1), Start.AddSeconds(1), Start.AddSeconds(1), Start.AddSeconds(2)]);
    }
}

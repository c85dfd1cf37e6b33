using System.Text;
using System.Text.Json;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// <see cref="AuditTrailVerifier"/> on sessions written by the real <see cref="AuditLog"/> into memory (no server, no
/// database): each kind of finding it can report, with its line, sequence number and counts, and the anchors and
/// links between sessions given directly. Every verification runs with and without reading ahead, which must agree.
/// Lines that must break the schema or the pairing while their chain holds are signed again here with the session's
/// key (as someone holding the key could), so that the finding is about what the test changed and not the chain.
/// </summary>
public sealed class AuditTrailVerifierTests
{
    readonly SecretKey _key = SecretKey.Generate();


    sealed record Written(string Session, List<string> Lines, long DurableSequence, string? DurableChain)
    {
        public string FileName => $"seq-audit-20261202-{Session}.ndjson";
        public string Continuation(int generation) => $"seq-audit-20261202-{Session}-{generation}.ndjson";
    }

    /// <summary>
    /// One session: its SessionStart line (naming <paramref name="previous"/>), then each operation as a Begin and,
    /// where given, its closing event; then the End line when <paramref name="end"/>.
    /// </summary>
    async Task<Written> WriteAsync(Written? previous, bool previousEnded, bool end, params AuditEventKind?[] closings)
    {
        var target = new MemoryAuditTarget();
        var session = AuditSession.Start();
        long durable;
        string? chain;
        await using (var log = new AuditLog(target, session, _key, TimeProvider.System))
        {
            await log.StartSessionAsync(previous?.Session, previous?.DurableSequence ?? 0, previous?.DurableChain, previousEnded, CancellationToken.None);
            for (var i = 0; i < closings.Length; i++)
            {
                var operation = Guid.NewGuid();
                await log.WriteAsync(new AuditEntry("Test", "Trail", AuditEventKind.Begin, operation, "Step {Number}", [new("Number", i)]),
                    Principal.Anonymous, null, CancellationToken.None);
                if (closings[i] is { } closing)
                    await log.WriteAsync(new AuditEntry("Test", "Trail", closing, operation, "Step {Number}", [new("Number", i)],
                        closing == AuditEventKind.Complete ? null : $"System.InvalidOperationException: refused {i}"), Principal.Anonymous, null, CancellationToken.None);
            }
            if (end)
                await log.EndAsync(CancellationToken.None);
            (durable, chain) = log.DurableHead;
        }
        return new Written(session.Id, target.Lines, durable, chain);
    }

    Task<Written> WriteAsync(int operations, Written? previous = null, bool end = true) =>
        WriteAsync(previous, previousEnded: previous is not null, end, [.. Enumerable.Repeat<AuditEventKind?>(AuditEventKind.Complete, operations)]);

    static AuditFileBytes File(string name, IEnumerable<string> lines) => new(name, Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))));

    static AuditFileBytes File(Written session, IEnumerable<string>? lines = null) => File(session.FileName, lines ?? session.Lines);

    static AuditSessionAnchor Anchor(Written session, string target = "memory", bool ended = true, long? durable = null, string? chain = null) =>
        new(session.Session, null, target, DateTimeOffset.UtcNow, durable ?? session.DurableSequence, chain ?? session.DurableChain, ended ? DateTimeOffset.UtcNow : null);

    AuditTrailVerification Verify(IEnumerable<AuditFileBytes> files, IReadOnlyList<AuditSessionAnchor>? anchors, IReadOnlyCollection<string>? directories = null)
    {
        var given = files.ToList();
        var ahead = new AuditTrailVerifier(_key) { ReadAhead = true }.Verify(given, anchors, directories);
        var alone = new AuditTrailVerifier(_key) { ReadAhead = false }.Verify(given, anchors, directories);
        ahead.Findings.ShouldBe(alone.Findings);
        ahead.Summary.ShouldBe(alone.Summary);
        return alone;
    }

    static readonly string[] NoFiles = [];

    static List<(AuditFindingKind Kind, int? Line, long? Sequence)> Found(AuditTrailVerification verification) =>
        [.. verification.Findings.Where(f => f.Kind != AuditFindingKind.Unchecked).Select(f => (f.Kind, f.Line, f.SequenceNumber))];

    static string Property(string line, string name) => JsonDocument.Parse(line).RootElement.GetProperty(name).ToString();

    /// <summary>
    /// Numbers and signs lines again from the start of the session, as if written so: each takes the next sequence
    /// number and the chain value that follows from the one before (a continuation line is left as it is).
    /// </summary>
    List<string> Sign(string session, IEnumerable<string> lines)
    {
        var key = _key.DeriveSubkey(SecretPurposes.AuditIntegrity);
        var chain = AuditLog.ChainStart(key, session);
        var signed = new List<string>();
        var sequence = 0;
        foreach (var original in lines)
        {
            var line = original;
            var at = line.LastIndexOf(",\"AuditChain\":\"", StringComparison.Ordinal);
            if (at < 0 || !line.StartsWith('{') || line.Contains("\"ContinuesFrom\"", StringComparison.Ordinal))
            {
                signed.Add(line);
                continue;
            }
            sequence++;
            var prefix = System.Text.RegularExpressions.Regex.Replace(line[..at], "\"SequenceNumber\":[0-9]+,", $"\"SequenceNumber\":{sequence},");
            chain = AuditLog.NextChain(key, chain, Encoding.UTF8.GetBytes(prefix));
            signed.Add($"{prefix},\"AuditChain\":\"{Convert.ToHexStringLower(chain)}\"}}");
        }
        return signed;
    }

    static string Replace(string line, string from, string to)
    {
        line.ShouldContain(from);
        return line.Replace(from, to, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_linked_sessions_verify_with_their_anchors_without_a_finding_and_with_their_counts()
    {
        var first = await WriteAsync(3);
        var second = await WriteAsync(2, first);
        first.Lines.Count.ShouldBe(8);
        second.Lines.Count.ShouldBe(6);

        var verification = Verify([File(first), File(second)], [Anchor(first), Anchor(second)]);

        verification.Findings.ShouldBeEmpty();
        verification.ExitCode.ShouldBe(0);
        verification.Summary.ShouldBe(new AuditVerificationSummary(2, 2, 14, 9, 0, 0, 0, true));
        verification.Sessions.Select(s => s with { Files = NoFiles }).ShouldBe(
        [
            new AuditSessionResult(first.Session, NoFiles, 8, 8, true, null, 8, true),
            new AuditSessionResult(second.Session, NoFiles, 6, 6, true, first.Session, 6, true),
        ]);
        verification.Sessions.Select(s => s.Files.Single()).ShouldBe([first.FileName, second.FileName]);
    }

    [Fact]
    public async Task Without_anchors_the_end_of_the_newest_session_is_reported_unchecked_and_nothing_else()
    {
        var first = await WriteAsync(1);
        var second = await WriteAsync(1, first);

        var verification = Verify([File(first), File(second)], null);

        verification.Findings.ShouldHaveSingleItem().ShouldSatisfyAllConditions(
            f => f.Kind.ShouldBe(AuditFindingKind.Unchecked), f => f.AuditSession.ShouldBeNull(), f => f.Message.ShouldContain("without the anchors"));
        verification.ExitCode.ShouldBe(0);
        verification.Summary.TailChecked.ShouldBeFalse();
    }

    [Fact]
    public async Task A_removed_line_is_reported_at_the_line_after_the_gap_with_the_missing_sequence_numbers()
    {
        var session = await WriteAsync(4);

        var one = Verify([File(session, [.. session.Lines.Take(3), .. session.Lines.Skip(4)])], [Anchor(session)]);
        // Line 4 was the Begin of the operation whose Complete is now line 4.
        Found(one).ShouldBe([(AuditFindingKind.Removed, 4, 5L), (AuditFindingKind.Unpaired, 4, 5L)]);
        one.Findings[0].Message.ShouldBe("the line with sequence number 4 is missing before it (removed)");
        one.Sessions.Single().ShouldSatisfyAllConditions(s => s.Intact.ShouldBeFalse(), s => s.GoodLinesBeforeFirstProblem.ShouldBe(3), s => s.Lines.ShouldBe(9));
        one.ExitCode.ShouldBe(2);

        var two = Verify([File(session, [.. session.Lines.Take(3), .. session.Lines.Skip(5)])], [Anchor(session)]);
        Found(two).ShouldBe([(AuditFindingKind.Removed, 4, 6L)]);
        two.Findings[0].Message.ShouldBe("the lines with sequence numbers 4 to 5 are missing before it (removed)");
    }

    [Fact]
    public async Task An_altered_line_is_reported_as_altered_and_the_lines_after_it_still_verify()
    {
        var session = await WriteAsync(3);
        var lines = session.Lines.ToList();
        lines[3] = Replace(lines[3], "\"Number\":1", "\"Number\":7");

        var verification = Verify([File(session, lines)], [Anchor(session)]);

        Found(verification).ShouldBe([(AuditFindingKind.Altered, 4, 4L)]);
        verification.Findings[0].Message.ShouldBe("its chain value does not follow from the lines before it: the line was altered");
        verification.Sessions.Single().GoodLinesBeforeFirstProblem.ShouldBe(3);
        verification.ExitCode.ShouldBe(2);
    }

    [Fact]
    public async Task Inserted_lines_are_reported_whether_they_take_the_next_a_past_or_a_later_sequence_number()
    {
        var session = await WriteAsync(3);
        var lines = session.Lines;
        var forged = Replace(lines[2], Property(lines[2], "OperationId"), Guid.NewGuid().ToString());

        // Takes sequence number 3, which the real line 3 then proves it is not.
        var next = Verify([File(session, [.. lines.Take(2), forged, .. lines.Skip(2)])], [Anchor(session)]);
        Found(next).ShouldBe([(AuditFindingKind.Inserted, 3, 3L)]);
        next.Findings[0].Message.ShouldBe("the line does not follow from the lines before it, and the next line does: it was inserted");
        // A number that came before, and not a copy of that line.
        var past = Verify([File(session, [.. lines.Take(5), forged, .. lines.Skip(5)])], [Anchor(session)]);
        Found(past).ShouldBe([(AuditFindingKind.Inserted, 6, 3L)]);
        past.Findings[0].Message.ShouldBe("sequence number 3 came before, and this line is not a copy of it: it was inserted");
        // A number ahead of the next, where the next line does follow.
        var ahead = Replace(forged, "\"SequenceNumber\":3,", "\"SequenceNumber\":5,");
        var later = Verify([File(session, [.. lines.Take(2), ahead, .. lines.Skip(2)])], [Anchor(session)]);
        Found(later).ShouldBe([(AuditFindingKind.Inserted, 3, 5L)]);
        later.Findings[0].Message.ShouldBe("the line does not belong between the lines around it: it was inserted");
        var twoAhead = Replace(forged, "\"SequenceNumber\":3,", "\"SequenceNumber\":4,");
        Found(Verify([File(session, [.. lines.Take(2), twoAhead, .. lines.Skip(2)])], [Anchor(session)]))
            .ShouldBe([(AuditFindingKind.Inserted, 3, 4L)]);
    }

    [Fact]
    public async Task Two_lines_in_each_other_s_place_are_out_of_order_and_both_count_as_verified()
    {
        var session = await WriteAsync(3);
        var lines = session.Lines.ToList();
        (lines[2], lines[3]) = (lines[3], lines[2]);

        var verification = Verify([File(session, lines)], [Anchor(session)]);

        Found(verification).ShouldBe([(AuditFindingKind.OutOfOrder, 3, 4L)]);
        verification.Findings[0].Message.ShouldBe("the lines with sequence numbers 3 and 4 are in each other's place");
        verification.Sessions.Single().ShouldSatisfyAllConditions(s => s.Lines.ShouldBe(8), s => s.GoodLinesBeforeFirstProblem.ShouldBe(2));
        verification.Summary.Lines.ShouldBe(8);

        // Two apart is not a swap: the earlier one is missing where the later one stands.
        var far = session.Lines.ToList();
        (far[2], far[4]) = (far[4], far[2]);
        Found(Verify([File(session, far)], [Anchor(session)])).ShouldNotContain(f => f.Kind == AuditFindingKind.OutOfOrder);
    }

    [Fact]
    public async Task An_exact_copy_is_a_duplicate_and_a_changed_copy_of_a_past_line_is_inserted()
    {
        var session = await WriteAsync(3);
        var lines = session.Lines;

        var duplicate = Verify([File(session, [.. lines.Take(4), lines[1], .. lines.Skip(4)])], [Anchor(session)]);
        Found(duplicate).ShouldBe([(AuditFindingKind.Duplicate, 5, 2L)]);
        duplicate.Findings[0].Message.ShouldBe("an exact copy of the line with sequence number 2");
        duplicate.ExitCode.ShouldBe(0);
        duplicate.Summary.Duplicates.ShouldBe(1);
        duplicate.Sessions.Single().Intact.ShouldBeTrue();

        var changed = Replace(lines[1], "\"Number\":0", "\"Number\":9");
        Found(Verify([File(session, [.. lines.Take(4), changed, .. lines.Skip(4)])], [Anchor(session)]))
            .ShouldBe([(AuditFindingKind.Inserted, 5, 2L)]);
        // The first line again, with the chain it had: its number is 1, before which only the session's start is.
        Found(Verify([File(session, [.. lines, lines[0]])], [Anchor(session)])).ShouldBe([(AuditFindingKind.Duplicate, 9, 1L)]);
    }

    [Fact]
    public async Task A_torn_line_is_a_crash_not_tampering_and_is_counted()
    {
        var session = await WriteAsync(2, end: false);
        var lines = session.Lines;

        var verification = Verify([File(session, [.. lines, lines[^1][..30]])], [Anchor(session, ended: false)]);

        Found(verification).ShouldBe([(AuditFindingKind.Torn, 6, null)]);
        verification.Findings[0].Message.ShouldBe("the line is not JSON: a write was cut short (a crash mid-write), or the file was cut here");
        verification.ExitCode.ShouldBe(3);
        verification.Summary.Torn.ShouldBe(1);
        verification.Sessions.Single().ShouldSatisfyAllConditions(s => s.Intact.ShouldBeTrue(), s => s.Ended.ShouldBeFalse(), s => s.Lines.ShouldBe(6));
    }

    [Fact]
    public async Task A_Begin_left_open_is_interrupted_in_a_session_without_an_End_and_unpaired_in_one_with_it()
    {
        var open = await WriteAsync(null, false, end: false, AuditEventKind.Complete, null, AuditEventKind.Fail);
        var interrupted = Verify([File(open)], [Anchor(open, ended: false)]);
        Found(interrupted).ShouldBe([(AuditFindingKind.Interrupted, 4, 4L)]);
        var begun = Property(open.Lines[3], "OperationId");
        interrupted.Findings.Single(f => f.Kind == AuditFindingKind.Interrupted).Message
            .ShouldBe($"operation {begun} (Test/Trail) began and never closed: the server stopped mid-operation");
        interrupted.ExitCode.ShouldBe(3);
        interrupted.Summary.ShouldBe(new AuditVerificationSummary(1, 1, 6, 4, 1, 0, 0, true));

        var ended = await WriteAsync(null, false, end: true, AuditEventKind.Abandon, null);
        var unpaired = Verify([File(ended)], [Anchor(ended)]);
        Found(unpaired).ShouldBe([(AuditFindingKind.Unpaired, 4, 4L)]);
        unpaired.Findings.Single(f => f.Kind == AuditFindingKind.Unpaired).Message
            .ShouldBe($"operation {Property(ended.Lines[3], "OperationId")} began but has no Complete, Abandon or Fail, although the session ended cleanly");
        unpaired.ExitCode.ShouldBe(2);
        unpaired.Summary.Interrupted.ShouldBe(0);
    }

    [Fact]
    public async Task Each_way_of_breaking_the_pairing_of_an_operation_is_unpaired_even_with_an_intact_chain()
    {
        var session = await WriteAsync(2);
        var lines = session.Lines;
        var operation = Property(lines[1], "OperationId");
        var other = Property(lines[3], "OperationId");
        // lines: 0 start, 1-2 first operation, 3-4 second, 5 end.
        string Renamed(string line) => Replace(line, other, operation);

        // A second Begin, then a second Complete, of the first operation.
        var twice = Verify([File(session, Sign(session.Session, [lines[0], lines[1], lines[2], Renamed(lines[3]), Renamed(lines[4]), lines[5]]))], null);
        Found(twice).ShouldBe([(AuditFindingKind.Unpaired, 4, 4L), (AuditFindingKind.Unpaired, 5, 5L)]);
        twice.Findings.Where(f => f.Kind == AuditFindingKind.Unpaired).Select(f => f.Message).ShouldBe(
            [$"operation {operation} already has a Begin", $"operation {operation} was already closed"]);

        // A closing event with no Begin, and a Begin after its operation closed.
        var orphan = Verify([File(session, Sign(session.Session, [lines[0], lines[2], Renamed(lines[3]), lines[5]]))], null);
        Found(orphan).ShouldBe([(AuditFindingKind.Unpaired, 2, 2L), (AuditFindingKind.Unpaired, 3, 3L)]);
        orphan.Findings.Where(f => f.Kind == AuditFindingKind.Unpaired).Select(f => f.Message).ShouldBe(
            [$"its operation {operation} has no Begin", $"operation {operation} already has a closing event"]);

        // A single event (Record) whose operation already has one: the session's start, twice.
        var start = Property(lines[0], "OperationId");
        var single = Verify([File(session, Sign(session.Session, [lines[0], lines[0]]))], null);
        Found(single).ShouldBe([(AuditFindingKind.Unpaired, 2, 2L)]);
        single.Findings[0].Message.ShouldBe($"operation {start} already has its single event");
    }

    [Fact]
    public async Task Signed_lines_that_break_the_schema_or_the_session_are_invalid()
    {
        var session = await WriteAsync(2);
        var lines = session.Lines;

        var robot = Verify([File(session, Sign(session.Session, [.. lines.Take(2), Replace(lines[2], "\"PrincipalType\":\"Public\"", "\"PrincipalType\":\"Robot\""), .. lines.Skip(3)]))], null);
        Found(robot).ShouldBe([(AuditFindingKind.Invalid, 3, 3L)]);
        robot.Findings[0].Message.ShouldBe("PrincipalType is not User, ApiKey or Public");

        // After the End line, even with its chain intact.
        var next = Replace(Replace(lines[^1], "\"SequenceNumber\":6,", "\"SequenceNumber\":7,"), Property(lines[^1], "OperationId"), Guid.NewGuid().ToString());
        var afterEnd = Verify([File(session, Sign(session.Session, [.. lines, next]))], null);
        Found(afterEnd).ShouldBe([(AuditFindingKind.Invalid, 7, 7L)]);
        afterEnd.Findings[0].Message.ShouldBe("it follows the session's End line, which must be its last");

        // A line of another session, in this session's file.
        var stranger = await WriteAsync(1);
        var foreign = Verify([File(session, [.. lines.Take(3), stranger.Lines[1], .. lines.Skip(3)])], null);
        Found(foreign).ShouldBe([(AuditFindingKind.Invalid, 4, 2L)]);
        foreign.Findings[0].Message.ShouldBe($"it belongs to session {stranger.Session}, not {session.Session}");

        // Not an audit event at all, and an unsequenced continuation in the middle of a file.
        var notEvent = Verify([File(session, [.. lines.Take(3), "{\"Hello\":\"world\"}", .. lines.Skip(3)])], null);
        Found(notEvent).ShouldBe([(AuditFindingKind.Invalid, 4, null)]);
        var link = $"{{\"@t\":\"2026-12-01T00:00:00Z\",\"AuditSession\":\"{session.Session}\",\"ContinuesFrom\":\"x.ndjson\",\"ContinuesAfter\":2,\"ContinuesFromAuditChain\":null}}";
        var midLink = Verify([File(session, [.. lines.Take(3), link, .. lines.Skip(3)])], null);
        Found(midLink).ShouldBe([(AuditFindingKind.Invalid, 4, null)]);
        midLink.Findings[0].Message.ShouldBe("a continuation line may only be the first line of a file");

        // A sequenced line without its chain value, or with one that is not 64 hex digits, cannot be checked: it is
        // invalid, and so its sequence number is missing to the line after it, and the Begin it closed stays open.
        var chain = Property(lines[2], "AuditChain");
        foreach (var broken in new[] { Replace(lines[2], $",\"AuditChain\":\"{chain}\"", ""), Replace(lines[2], chain, chain[..63]) })
        {
            var unchained = Verify([File(session, [.. lines.Take(2), broken, .. lines.Skip(3)])], null);
            Found(unchained).ShouldBe([(AuditFindingKind.Invalid, 3, 3L), (AuditFindingKind.Removed, 4, 4L), (AuditFindingKind.Unpaired, 2, 2L)]);
            unchained.Findings[0].Message.ShouldBe("AuditChain is missing, malformed or not the last property");
        }
        var unnumbered = Verify([File(session, [.. lines.Take(2), Replace(lines[2], "\"SequenceNumber\":3,", ""), .. lines.Skip(3)])], null);
        Found(unnumbered).ShouldBe([(AuditFindingKind.Invalid, 3, null), (AuditFindingKind.Removed, 4, 4L), (AuditFindingKind.Unpaired, 2, 2L)]);
        unnumbered.Findings[0].Message.ShouldBe("SequenceNumber is missing");

        // Values the verifier does not keep are still checked for their type.
        foreach (var (name, problem) in new[] { ("@m", "@m is not text"), ("@x", "@x is not text"), ("HttpRequestPath", "HttpRequestPath is not text or null") })
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(lines[2])!.AsObject();
            var chainValue = node["AuditChain"]!.GetValue<string>();
            node.Remove("AuditChain");
            node[name] = 5;
            node["AuditChain"] = chainValue;
            var mistyped = Verify([File(session, Sign(session.Session, [.. lines.Take(2), node.ToJsonString(), .. lines.Skip(3)]))], null);
            Found(mistyped).ShouldBe([(AuditFindingKind.Invalid, 3, 3L)], name);
            mistyped.Findings[0].Message.ShouldBe(problem);
        }
    }

    /// <summary>The lines as the file target leaves them after a failed fsync after line <paramref name="durable"/> (ADR 0009).</summary>
    static (List<string> Head, List<string> Tail) Continue(Written session, int durable, int kept, string? chain = null, long? after = null)
    {
        var last = session.Lines[durable - 1];
        var link = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["@t"] = "2026-12-01T00:00:00.0000000Z",
            ["AuditSession"] = session.Session,
            [AuditChainVerifier.ContinuesFromProperty] = session.FileName,
            [AuditChainVerifier.ContinuesAfterProperty] = after ?? durable,
            [AuditChainVerifier.ContinuesFromChainProperty] = chain ?? Property(last, "AuditChain"),
        });
        return ([.. session.Lines.Take(kept), "\0\0{\"torn"], [link, .. session.Lines.Skip(durable)]);
    }

    [Fact]
    public async Task A_session_continued_in_a_second_file_verifies_in_either_order_and_each_broken_link_is_found()
    {
        // Lines 1-10: start, four operations (Begin, Complete), End; durable up to 5, the first file kept 7 and a torn line.
        var session = await WriteAsync(4);
        var (head, rest) = Continue(session, durable: 5, kept: 7);
        var second = session.Continuation(2);

        var intact = Verify([File(second, rest), File(session.FileName, head)], [Anchor(session)]);
        intact.Findings.ShouldBeEmpty();
        intact.Sessions.Single().ShouldSatisfyAllConditions(s => s.Files.ShouldBe([session.FileName, second]), s => s.LastSequenceNumber.ShouldBe(10),
            s => s.Intact.ShouldBeTrue(), s => s.Ended.ShouldBeTrue());
        intact.Summary.ShouldBe(new AuditVerificationSummary(1, 2, 13, 6, 0, 0, 0, true));

        // Without its first file: carried on from the link.
        var headless = Verify([File(second, rest)], [Anchor(session)]);
        Found(headless).ShouldBe([(AuditFindingKind.MissingFile, 1, null)]);
        headless.Findings[0].Message.ShouldBe($"the session's first file is missing: this file continues from {session.FileName}, which was not given");
        headless.ExitCode.ShouldBe(2);

        // The link's chain value is not the one verified there.
        var (_, forged) = Continue(session, durable: 5, kept: 7, chain: Property(session.Lines[2], "AuditChain"));
        var forgedLink = Verify([File(session.FileName, head), File(second, forged)], [Anchor(session)]);
        Found(forgedLink).ShouldContain((AuditFindingKind.Altered, 1, null));
        forgedLink.Findings.ShouldContain(f => f.Kind == AuditFindingKind.Altered && f.Line == 1
            && f.Message == "its chain value is not the one verified at sequence number 5: a line before it was altered or the link was forged");

        // The first file ends before the point the next one resumes from.
        var cut = Verify([File(session.FileName, session.Lines.Take(3)), File(second, rest)], [Anchor(session)]);
        Found(cut).ShouldContain((AuditFindingKind.Removed, null, 4L));
        cut.Findings.ShouldContain(f => f.Message == "the file ends at sequence number 3, but the next file continues after 5: lines known durable are missing from its end");

        // A line past the resume point that is not a copy of the one the next file verified there.
        var alteredTail = head.ToList();
        alteredTail[5] = Replace(alteredTail[5], "\"Number\":2", "\"Number\":8");
        var tail = Verify([File(session.FileName, alteredTail), File(second, rest)], [Anchor(session)]);
        Found(tail).ShouldBe([(AuditFindingKind.Altered, 6, 6L)]);
        tail.Findings.Single(f => f.Kind == AuditFindingKind.Altered).Message
            .ShouldBe("it lies past the point the next file resumes from and is not a copy of the line verified there");

        // A middle file missing: the third continues from the second, which was not given.
        var (_, afterSeven) = Continue(session, durable: 7, kept: 7);
        afterSeven[0] = Replace(afterSeven[0], session.FileName, second);
        var middle = Verify([File(session.FileName, head), File(session.Continuation(3), afterSeven)], [Anchor(session)]);
        Found(middle).ShouldBe([(AuditFindingKind.MissingFile, 1, null)]);
        middle.Findings.Single(f => f.Kind == AuditFindingKind.MissingFile).Message
            .ShouldBe($"it continues from {second}, which was not given: a file of the session is missing");

        // Two files that each claim to start the session.
        var twoFirsts = Verify([File(session.FileName, session.Lines), File(second, session.Lines)], [Anchor(session)]);
        Found(twoFirsts).ShouldBe([(AuditFindingKind.Invalid, 1, null)]);
        twoFirsts.Findings[0].ShouldSatisfyAllConditions(f => f.File.ShouldBe(second), f => f.Message.ShouldBe($"both {session.FileName} and this file claim to start the session"));
    }

    [Fact]
    public async Task A_continuation_of_another_session_or_without_its_sequence_number_is_invalid()
    {
        var session = await WriteAsync(2);
        var (head, rest) = Continue(session, durable: 3, kept: 3);
        var second = session.Continuation(2);

        var foreign = rest.ToList();
        foreign[0] = Replace(foreign[0], $"\"AuditSession\":\"{session.Session}\"", "\"AuditSession\":\"someoneelse\"");
        var wrongSession = Verify([File(session.FileName, head), File(second, foreign)], null);
        wrongSession.Findings.ShouldContain(f => f.Kind == AuditFindingKind.Invalid && f.Line == 1 && f.Message == $"the continuation belongs to session someoneelse, not {session.Session}");

        var numberless = rest.ToList();
        numberless[0] = Replace(numberless[0], "\"ContinuesAfter\":3", "\"ContinuesAfter\":null");
        var noAfter = Verify([File(session.FileName, head), File(second, numberless)], null);
        noAfter.Findings.ShouldContain(f => f.Kind == AuditFindingKind.Invalid && f.Line == 1 && f.Message == "the continuation does not say which sequence number it follows");
    }

    [Fact]
    public async Task Anchors_find_a_cut_end_a_changed_end_and_a_deleted_session_in_a_given_folder()
    {
        var first = await WriteAsync(2);
        var second = await WriteAsync(2, first);
        AuditSessionAnchor[] anchors = [Anchor(first), Anchor(second)];

        // The End line cut from the end.
        var cut = Verify([File(first), File(second, second.Lines.Take(5))], anchors);
        Found(cut).ShouldBe([(AuditFindingKind.Truncated, null, 6L)]);
        cut.Findings.Single().AuditSession.ShouldBe(second.Session);
        cut.Findings.Single().Message.ShouldStartWith("the files end at sequence number 5, but the anchor records 6 as durable");
        cut.ExitCode.ShouldBe(2);
        cut.Sessions[1].Intact.ShouldBeFalse();
        cut.Sessions[0].Intact.ShouldBeTrue();

        // An anchor that records a clean end at the last line the files hold, which is not the End line.
        var noEnd = Verify([File(first), File(second, second.Lines.Take(5))], [Anchor(first), Anchor(second, durable: 5, chain: Property(second.Lines[4], "AuditChain"))]);
        Found(noEnd).ShouldBe([(AuditFindingKind.Truncated, null, 5L)]);
        noEnd.Findings.Single().Message.ShouldBe("the session ended cleanly at sequence number 5, but its files end at 5 without the End line");

        // An anchor whose chain value is not the one verified at its line.
        var wrongChain = Verify([File(first), File(second)], [Anchor(first), Anchor(second, chain: Property(second.Lines[2], "AuditChain"))]);
        Found(wrongChain).ShouldBe([(AuditFindingKind.Altered, null, 6L)]);
        wrongChain.Findings.Single(f => f.Kind == AuditFindingKind.Altered).Message.ShouldBe("the anchor's chain value for this line is not the one verified in the files");
        Found(Verify([File(first), File(second)], [Anchor(first), Anchor(second, chain: "not hex")])).ShouldBe([(AuditFindingKind.Altered, null, 6L)]);

        // A session with no anchor is unchecked, not wrong.
        var unanchored = Verify([File(first), File(second)], [Anchor(first)]);
        Found(unanchored).ShouldBeEmpty();
        // Nothing durable yet (a session that had just started): nothing to compare.
        Found(Verify([File(first), File(second)], [Anchor(first), new AuditSessionAnchor(second.Session, null, "memory", DateTimeOffset.UtcNow, 0, null, null)])).ShouldBeEmpty();
        unanchored.Findings.ShouldContain(f => f.Kind == AuditFindingKind.Unchecked && f.AuditSession == second.Session
            && f.Message == "the database holds no anchor for this session, so its end was not checked");

        // A session the database places in the folder given, of which no file is there.
        var folder = TestDirectories.NewPath("audit-folder");
        var deleted = Verify([File(first)], [Anchor(first, target: "file " + folder), Anchor(second, target: "file " + folder)], [folder + Path.DirectorySeparatorChar]);
        Found(deleted).ShouldBe([(AuditFindingKind.MissingSession, null, null)]);
        deleted.ExitCode.ShouldBe(2);
        var gone = deleted.Findings.Single(f => f.Kind == AuditFindingKind.MissingSession);
        gone.AuditSession.ShouldBe(second.Session);
        gone.Message.ShouldStartWith($"the database records audit session {second.Session} (started ");
        gone.Message.ShouldEndWith($", {second.DurableSequence} lines durable) in this folder, but none of its files is there: the session was deleted");
        Found(Verify([File(first)], [Anchor(first, target: "file " + folder), Anchor(second, target: "file /elsewhere")], [folder])).ShouldBeEmpty();
    }

    [Fact]
    public async Task The_first_line_of_a_session_checks_the_end_of_the_session_before_it()
    {
        var first = await WriteAsync(2);
        var second = await WriteAsync(2, first);
        first.Lines.Count.ShouldBe(6);

        // The older session's End line removed: the newer one's first line says it reached 6.
        var cut = Verify([File(first, first.Lines.Take(5)), File(second)], null);
        Found(cut).ShouldBe([(AuditFindingKind.Truncated, null, 6L)]);
        cut.Findings.Single(f => f.Kind != AuditFindingKind.Unchecked).ShouldSatisfyAllConditions(
            f => f.AuditSession.ShouldBe(first.Session), f => f.File.ShouldBe(first.FileName),
            f => f.Message.ShouldBe($"the session ends at sequence number 5, but session {second.Session}'s first line says it reached 6: lines were removed from its end, or its last file deleted"));
        cut.Sessions[0].Intact.ShouldBeFalse();

        // The newer session says the older one ended cleanly at 5 (with the chain value verified there), where no End line is.
        var atFive = second.Lines.ToList();
        atFive[0] = Replace(Replace(atFive[0], first.DurableChain!, Property(first.Lines[4], "AuditChain")), "\"PreviousSequenceNumber\":6", "\"PreviousSequenceNumber\":5");
        var noEnd = Verify([File(first, first.Lines.Take(5)), File(second, Sign(second.Session, atFive))], null);
        Found(noEnd).ShouldBe([(AuditFindingKind.Truncated, null, 5L)]);
        noEnd.Findings.Single(f => f.Kind == AuditFindingKind.Truncated).Message
            .ShouldBe($"session {second.Session}'s first line says this session ended cleanly at sequence number 5, but its files end at 5 without an End line");

        // The newer session names another chain value for the older one's last line.
        var forged = second.Lines.ToList();
        forged[0] = Replace(forged[0], first.DurableChain!, Property(first.Lines[2], "AuditChain"));
        var otherChain = Verify([File(first), File(second, Sign(second.Session, forged))], null);
        Found(otherChain).ShouldBe([(AuditFindingKind.Altered, null, 6L)]);
        otherChain.Findings.Single(f => f.Kind == AuditFindingKind.Altered).Message
            .ShouldBe($"the chain value session {second.Session}'s first line names for this line is not the one verified here");

        // A session before it that was not given, while an older one was: deleted. Given alone: unchecked.
        var third = await WriteAsync(1, second);
        var missing = Verify([File(first), File(third)], null);
        Found(missing).ShouldBe([(AuditFindingKind.MissingSession, null, null)]);
        missing.Findings.Single(f => f.Kind == AuditFindingKind.MissingSession).ShouldSatisfyAllConditions(
            f => f.AuditSession.ShouldBe(second.Session),
            f => f.Message.ShouldBe($"session {third.Session}'s first line names {second.Session} as the session before it, and no file of {second.Session} was given although older sessions were: the session was deleted"));
        Verify([File(third)], null).Findings.ShouldContain(f => f.Kind == AuditFindingKind.Unchecked && f.AuditSession == third.Session && f.SequenceNumber == 1 && f.Line == 1
            && f.Message == $"the session before it, {second.Session}, was not given, so its end was not checked");

        // A session whose SessionStart line is gone cannot be linked.
        var headless = Verify([File(second, second.Lines.Skip(1))], null);
        headless.Findings.ShouldContain(f => f.Kind == AuditFindingKind.Unchecked && f.AuditSession == second.Session && f.Message.Contains("SessionStart", StringComparison.Ordinal));
    }

    [Fact]
    public void A_finding_reads_as_its_kind_file_line_sequence_number_and_message()
    {
        new AuditFinding(AuditFindingKind.Removed, "s", "a.ndjson", 3, 4, "gone").ToString().ShouldBe("Removed: a.ndjson line 3: (sequence number 4) gone");
        new AuditFinding(AuditFindingKind.Truncated, "s", "a.ndjson", null, 5, "cut").ToString().ShouldBe("Truncated: a.ndjson: (sequence number 5) cut");
        new AuditFinding(AuditFindingKind.Unchecked, null, null, null, null, "why").ToString().ShouldBe("Unchecked: why");
        Enum.GetValues<AuditFindingKind>().Where(k => new AuditFinding(k, null, null, null, null, "").IsTampering).ShouldBe(
        [
            AuditFindingKind.Altered, AuditFindingKind.Inserted, AuditFindingKind.Removed, AuditFindingKind.OutOfOrder, AuditFindingKind.Invalid,
            AuditFindingKind.Unpaired, AuditFindingKind.Truncated, AuditFindingKind.MissingFile, AuditFindingKind.MissingSession,
        ]);
    }

    [Fact]
    public async Task A_file_that_is_not_named_by_its_session_is_grouped_by_the_session_of_its_lines()
    {
        var session = await WriteAsync(2);

        var verification = Verify([File("copied.ndjson", ["\0\0{\"torn", .. session.Lines])], [Anchor(session)]);

        verification.Sessions.Single().ShouldSatisfyAllConditions(s => s.AuditSession.ShouldBe(session.Session), s => s.Files.ShouldBe(["copied.ndjson"]));
        Found(verification).ShouldBe([(AuditFindingKind.Torn, 1, null)]);
        AuditTrailVerifier.ReadSessions([File("copied.ndjson", session.Lines)]).Single().Session.ShouldBe(session.Session);
    }
    [Fact]
    public async Task An_anomaly_on_the_last_line_of_a_file_is_found_with_no_line_after_it_to_compare()
    {
        // Lines 1-7: start, then three operations (Begin, Complete); no End, so the file may stop anywhere.
        var session = await WriteAsync(3, end: false);
        var lines = session.Lines;
        lines.Count.ShouldBe(7);

        var altered = lines.ToList();
        altered[6] = Replace(altered[6], "\"Number\":2", "\"Number\":5");
        Found(Verify([File(session, altered)], null)).ShouldBe([(AuditFindingKind.Altered, 7, 7L)]);

        // The Begin before the last line removed: the Complete left has no Begin.
        Found(Verify([File(session, [.. lines.Take(5), lines[6]])], null)).ShouldBe([(AuditFindingKind.Removed, 6, 7L), (AuditFindingKind.Unpaired, 6, 7L)]);
    }

    [Fact]
    public async Task A_copy_of_the_End_line_after_it_is_a_duplicate_and_nothing_else()
    {
        var session = await WriteAsync(1);
        var lines = session.Lines;

        var verification = Verify([File(session, [.. lines, lines[^1]])], [Anchor(session)]);

        Found(verification).ShouldBe([(AuditFindingKind.Duplicate, lines.Count + 1, (long)lines.Count)]);
        verification.ExitCode.ShouldBe(0);
    }

    [Fact]
    public async Task Lines_of_only_blanks_are_skipped_but_counted_in_the_line_numbers()
    {
        var session = await WriteAsync(2);
        var lines = session.Lines.ToList();
        lines[3] = Replace(lines[3], "\"Number\":1", "\"Number\":6");
        List<string> spaced = [lines[0], "   \t ", lines[1], "\r", .. lines.Skip(2)];

        // Line 4 of the session is line 6 of the file.
        Found(Verify([File(session, spaced)], [Anchor(session)])).ShouldBe([(AuditFindingKind.Altered, 6, 4L)]);

        var read = AuditTrailVerifier.ReadSessions([File(session, spaced)]).Single().Files.Single().Lines;
        read.Select(l => l.LineNumber).ShouldBe([1, 3, 5, 6, 7, 8]);
        read.ShouldAllBe(l => !l.IsTorn);
    }

    [Fact]
    public async Task A_file_not_named_by_its_session_takes_the_first_session_its_readable_lines_name_or_else_its_own_name()
    {
        var first = await WriteAsync(1);
        var second = await WriteAsync(1);
        const string torn = "\0\0{\"torn";

        // Torn first: the session is that of the first line that can be read.
        var afterTorn = Verify([File("copied.ndjson", [torn, .. first.Lines])], null);
        afterTorn.Sessions.Single().AuditSession.ShouldBe(first.Session);
        AuditTrailVerifier.ReadSessions([File("copied.ndjson", [torn, .. first.Lines])]).Single().Session.ShouldBe(first.Session);
        // Nor is it taken from a line that is JSON but names no session.
        AuditTrailVerifier.ReadSessions([File("copied.ndjson", ["{\"Note\":\"no session\"}", .. first.Lines])]).Single().Session.ShouldBe(first.Session);
        Verify([File("copied.ndjson", ["{\"Note\":\"no session\"}", .. first.Lines])], null).Sessions.Single().AuditSession.ShouldBe(first.Session);

        // Two sessions' lines: the first session's; the other's lines do not belong to it.
        var mixed = Verify([File("mixed.ndjson", [.. first.Lines, second.Lines[0]])], null);
        mixed.Sessions.Single().AuditSession.ShouldBe(first.Session);
        Found(mixed).ShouldBe([(AuditFindingKind.Invalid, first.Lines.Count + 1, 1L)]);
        AuditTrailVerifier.ReadSessions([File("mixed.ndjson", [.. first.Lines, second.Lines[0]])]).Single().Session.ShouldBe(first.Session);

        // Nothing readable: the file's own name.
        Verify([File("torn.ndjson", [torn, torn])], null).Sessions.Single().AuditSession.ShouldBe("torn.ndjson");
        AuditTrailVerifier.ReadSessions([File("torn.ndjson", [torn, torn])]).Single().Session.ShouldBe("torn.ndjson");
    }

    [Fact]
    public async Task Continuation_files_given_in_any_order_are_put_in_the_order_their_links_name()
    {
        // Lines 1-10; the first file durable to 3, the second continues after 3 and is durable to 6, the third after 6.
        var session = await WriteAsync(4);
        var (one, afterThree) = Continue(session, durable: 3, kept: 3);
        var (_, afterSix) = Continue(session, durable: 6, kept: 6);
        afterSix[0] = Replace(afterSix[0], session.FileName, session.Continuation(2));
        List<string> two = [.. afterThree.Take(4)];
        var files = new[] { File(session.Continuation(3), afterSix), File(session.Continuation(2), two), File(session.FileName, one) };

        var all = Verify(files, [Anchor(session)]);
        all.Findings.ShouldBeEmpty();
        all.Sessions.Single().Files.ShouldBe([session.FileName, session.Continuation(2), session.Continuation(3)]);

        // Without the first: the earliest of the others is taken as the start, and is reported.
        var headless = Verify(files[..2], [Anchor(session)]);
        Found(headless).ShouldBe([(AuditFindingKind.MissingFile, 1, null)]);
        headless.Findings.Single(f => f.Kind == AuditFindingKind.MissingFile).File.ShouldBe(session.Continuation(2));
        headless.Sessions.Single().Files.ShouldBe([session.Continuation(2), session.Continuation(3)]);
    }
    [Fact]
    public async Task The_read_ahead_thread_delivers_every_line_of_a_trail_without_anomalies_and_an_empty_file_reads_as_none()
    {
        // 3002 lines, more than the batches that may wait at once; durable to 1000 in the first file, then a second.
        var session = await WriteAsync(1500);
        var (head, rest) = Continue(session, durable: 1000, kept: 1000);
        AuditFileBytes[] files = [File(session.FileName, head), File(session.Continuation(2), rest), File("empty.ndjson", [])];

        var ahead = new AuditTrailVerifier(_key) { ReadAhead = true };
        var verification = ahead.Verify(files, [Anchor(session)]);
        var alone = new AuditTrailVerifier(_key) { ReadAhead = false };
        alone.Verify(files, [Anchor(session)]).Findings.ShouldBe(verification.Findings);

        Found(verification).ShouldBeEmpty();
        verification.Sessions.Single(s => s.AuditSession == session.Session).Lines.ShouldBe(3003);
        verification.Sessions.Single(s => s.AuditSession == "empty.ndjson").Lines.ShouldBe(0);
        // Every line but the second file's link, which is read before the thread starts; none by the thread when off.
        ahead.LinesReadAhead.ShouldBe(head.Count + rest.Count - 1);
        alone.LinesReadAhead.ShouldBe(0);
        new AuditTrailVerifier(_key).ReadAhead.ShouldBe(Environment.ProcessorCount > 1);
    }
    [Fact]
    public async Task An_anomaly_whose_look_ahead_crosses_into_the_next_batch_of_the_read_ahead_reads_the_same_as_without_it()
    {
        // 302 lines; the read-ahead hands them over 256 at a time. Line 255 is altered and followed by four torn lines,
        // so looking for the next event reads line 260, in the second batch, before lines 256-259 of the first are read.
        var session = await WriteAsync(150);
        var lines = session.Lines.ToList();
        lines[254] = Replace(lines[254], "\"Number\":126", "\"Number\":999");
        lines.InsertRange(255, Enumerable.Repeat("\0\0{\"torn", 4));

        var verification = Verify([File(session, lines)], [Anchor(session)]);

        Found(verification).ShouldBe([(AuditFindingKind.Altered, 255, 255L), .. Enumerable.Range(256, 4).Select(n => (AuditFindingKind.Torn, (int?)n, (long?)null))]);
    }
    [Fact]
    public async Task A_second_session_start_inside_a_session_does_not_replace_its_first_line()
    {
        var first = await WriteAsync(1);
        var second = await WriteAsync(1, previous: first);
        var lines = second.Lines;
        // Signed as if written: a start line at sequence number 3 that names another session before this one.
        var forged = Replace(Replace(lines[0], first.Session, "forged-previous"), Property(lines[0], "OperationId"), Guid.NewGuid().ToString());

        var verification = Verify([File(first), File(second, Sign(second.Session, [lines[0], lines[1], forged, .. lines.Skip(2)]))], null);

        verification.Sessions.Single(s => s.AuditSession == second.Session).PreviousAuditSession.ShouldBe(first.Session);
        Found(verification).ShouldBeEmpty();
    }

    [Fact]
    public async Task Of_two_Begins_of_one_operation_never_closed_the_first_is_the_one_left_open()
    {
        var session = await WriteAsync(null, previousEnded: false, end: false, [null]);
        var lines = session.Lines;

        var verification = Verify([File(session, Sign(session.Session, [lines[0], lines[1], lines[1]]))], null);

        Found(verification).ShouldBe([(AuditFindingKind.Unpaired, 3, 3L), (AuditFindingKind.Interrupted, 2, 2L)]);
    }
    [Fact]
    public async Task A_line_signed_after_the_End_line_is_reported_by_the_anchor_and_by_the_next_session_without_the_missing_End_wording()
    {
        // Lines 1-6 end with the End line; a seventh, signed as if written, follows it.
        var first = await WriteAsync(2);
        var lines = first.Lines;
        var seventh = Replace(Replace(lines[^1], "\"SequenceNumber\":6,", "\"SequenceNumber\":7,"), Property(lines[^1], "OperationId"), Guid.NewGuid().ToString());
        var second = await WriteAsync(1, previous: first);

        var verification = Verify([File(first, Sign(first.Session, [.. lines, seventh])), File(second)], [Anchor(first), Anchor(second)]);

        verification.Findings.Where(f => f.Kind == AuditFindingKind.Truncated).Select(f => f.Message).ShouldBe([
            $"session {second.Session}'s first line says this session ended cleanly at sequence number 6, but its files end at 7",
            "the session ended cleanly at sequence number 6, but its files end at 7",
        ], ignoreOrder: true);
    }
}

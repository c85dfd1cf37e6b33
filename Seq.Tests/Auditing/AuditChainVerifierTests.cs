using System.Text.Json;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// <see cref="AuditChainVerifier"/> (the first-problem check used by <c>audit verify --file</c> and the tests) on lines
/// written by the real <see cref="AuditLog"/> into memory: the links between the files of a session and each way a
/// line or a link can be wrong, with the line it names and the count of lines verified before it.
/// </summary>
public sealed class AuditChainVerifierTests
{
    readonly SecretKey _key = SecretKey.Generate();
    const string FirstFile = "seq-audit-20261202-s.ndjson";
    const string SecondFile = "seq-audit-20261202-s-2.ndjson";
    const string ThirdFile = "seq-audit-20261202-s-3.ndjson";


    /// <summary><paramref name="count"/> Record lines of one session, sequence numbers 1 to <paramref name="count"/>.</summary>
    async Task<List<string>> WriteAsync(int count, string session = "s")
    {
        var target = new MemoryAuditTarget();
        await using (var log = new AuditLog(target, new AuditSession(session), _key, TimeProvider.System))
            for (var i = 0; i < count; i++)
                await log.WriteAsync(new AuditEntry("Test", "Chain", AuditEventKind.Record, Guid.NewGuid(), "Line {Number}", [new("Number", i)]),
                    Principal.Anonymous, null, CancellationToken.None);
        return target.Lines;
    }

    static string Link(string from, long? after, string? chain, string session = "s", bool sequenced = false)
    {
        var link = new Dictionary<string, object?>
        {
            ["@t"] = "2026-12-01T00:00:00.0000000Z",
            ["AuditSession"] = session,
            [AuditChainVerifier.ContinuesFromProperty] = from,
            [AuditChainVerifier.ContinuesAfterProperty] = after,
            [AuditChainVerifier.ContinuesFromChainProperty] = chain,
        };
        if (sequenced)
            link["SequenceNumber"] = 3;
        return JsonSerializer.Serialize(link);
    }

    static string ChainOf(string line) => JsonDocument.Parse(line).RootElement.GetProperty("AuditChain").GetString()!;

    AuditChainVerification Session(params (string Name, IEnumerable<string> Lines)[] files) =>
        AuditChainVerifier.VerifySession([.. files.Select(f => new AuditFileLines(f.Name, f.Lines))], _key);

    [Fact]
    public void No_files_are_an_intact_empty_session()
    {
        AuditChainVerifier.VerifySession([], _key).ShouldBe(new AuditChainVerification(true, 0, null));
        AuditChainVerifier.Verify([], _key).ShouldBe(new AuditChainVerification(true, 0, null));
    }

    [Fact]
    public async Task Three_files_linked_one_after_the_other_verify_as_one_chain_in_any_order()
    {
        var lines = await WriteAsync(9);
        (string, IEnumerable<string>) first = (FirstFile, lines.Take(4));
        (string, IEnumerable<string>) second = (SecondFile, [Link(FirstFile, 3, ChainOf(lines[2])), .. lines.Skip(3).Take(4)]);
        (string, IEnumerable<string>) third = (ThirdFile, [Link(SecondFile, 6, ChainOf(lines[5])), .. lines.Skip(6)]);

        Session(third, first, second).ShouldBe(new AuditChainVerification(true, 9, null));
        Session(first, second).ShouldBe(new AuditChainVerification(true, 7, null));
    }

    [Fact]
    public async Task A_link_after_nothing_durable_starts_again_from_the_session_s_first_chain_value()
    {
        var lines = await WriteAsync(3);

        Session((FirstFile, ["\0\0\0"]), (SecondFile, [Link(FirstFile, 0, null), .. lines])).ShouldBe(new AuditChainVerification(true, 3, null));
        Session((FirstFile, lines.Take(1)), (SecondFile, [Link(FirstFile, 0, null), .. lines])).IsIntact.ShouldBeTrue("the first line lay past the point resumed from and is copied");
        // A link after 0 that names a chain value, or a link after a line that names none, is forged.
        Session((FirstFile, lines.Take(1)), (SecondFile, [Link(FirstFile, 0, ChainOf(lines[0])), .. lines])).Problem
            .ShouldBe($"{SecondFile} line 1: its chain value is not the one verified at sequence number 0 (a line before it was altered or the link was forged).");
        Session((FirstFile, lines.Take(1)), (SecondFile, [Link(FirstFile, 1, null), .. lines.Skip(1)])).ShouldBe(new AuditChainVerification(false, 1,
            $"{SecondFile} line 1: its chain value is not the one verified at sequence number 1 (a line before it was altered or the link was forged)."));
    }

    [Fact]
    public async Task Each_broken_link_is_named_at_its_file_with_the_lines_verified_before_it()
    {
        var lines = await WriteAsync(6);
        (string, IEnumerable<string>) first = (FirstFile, lines.Take(4));
        IEnumerable<string> Rest(string link) => [link, .. lines.Skip(3)];

        Session(first, (SecondFile, Rest(Link(FirstFile, 3, ChainOf(lines[2]), session: "other")))).ShouldBe(new AuditChainVerification(false, 4,
            $"{SecondFile} line 1: it belongs to session other, not s."));
        Session(first, (SecondFile, Rest(Link(FirstFile, 4, ChainOf(lines[3]))))).IsIntact.ShouldBeFalse("line 4 follows the link again");
        Session(first, (SecondFile, Rest(Link(FirstFile, 3, ChainOf(lines[1]))))).ShouldBe(new AuditChainVerification(false, 4,
            $"{SecondFile} line 1: its chain value is not the one verified at sequence number 3 (a line before it was altered or the link was forged)."));
        Session(first, (SecondFile, Rest(Link(FirstFile, 3, ChainOf(lines[2]), sequenced: true)))).ShouldBe(new AuditChainVerification(false, 0,
            $"{SecondFile} line 1: a continuation line must not carry a sequence number."));
        Session(first, (SecondFile, Rest(Link(FirstFile, null, ChainOf(lines[2]))))).ShouldBe(new AuditChainVerification(false, 0,
            $"{SecondFile} line 1: the continuation does not say which sequence number it follows."));
    }

    [Fact]
    public async Task Files_that_do_not_line_up_into_one_session_are_refused_with_the_reason()
    {
        var lines = await WriteAsync(6);
        (string, IEnumerable<string>) first = (FirstFile, lines.Take(4));
        (string, IEnumerable<string>) second = (SecondFile, [Link(FirstFile, 3, ChainOf(lines[2])), .. lines.Skip(3)]);

        Session(first, (SecondFile, lines)).ShouldBe(new AuditChainVerification(false, 0, $"2 files each claim to start the session ({FirstFile}, {SecondFile})."));
        Session(first, second, (ThirdFile, [Link(FirstFile, 3, ChainOf(lines[2])), .. lines.Skip(3)])).ShouldBe(new AuditChainVerification(false, 0,
            $"2 files each claim to continue {FirstFile}."));
        Session(first, (ThirdFile, [Link(SecondFile, 3, ChainOf(lines[2])), .. lines.Skip(3)])).ShouldBe(new AuditChainVerification(false, 0,
            $"{ThirdFile} line 1: it continues the session from {SecondFile}, which is not among the files given after {FirstFile}."));
        Session(second).ShouldBe(new AuditChainVerification(false, 0,
            $"{SecondFile} line 1: it continues the session from {FirstFile}; verify it together with the files before it."));
    }

    [Fact]
    public async Task Each_problem_of_a_line_is_named_at_its_line_with_the_lines_verified_before_it()
    {
        var lines = await WriteAsync(4);
        var other = await WriteAsync(2, "t");
        List<string> With(int index, string line) => [.. lines.Take(index), line, .. lines.Skip(index + 1)];

        AuditChainVerifier.Verify(lines, _key).ShouldBe(new AuditChainVerification(true, 4, null));
        AuditChainVerifier.Verify(["", .. lines, ""], _key).ShouldBe(new AuditChainVerification(true, 4, null));
        AuditChainVerifier.Verify(With(2, lines[2][..^2]), _key).ShouldBe(new AuditChainVerification(false, 2, "Line 3: it carries no chain value."));
        AuditChainVerifier.Verify(With(2, lines[2].Replace(",\"AuditChain\":", ",\"Chain\":", StringComparison.Ordinal)), _key)
            .ShouldBe(new AuditChainVerification(false, 2, "Line 3: it carries no chain value."));
        AuditChainVerifier.Verify(With(2, lines[2].Replace("\"SequenceNumber\":3,", "", StringComparison.Ordinal)), _key)
            .ShouldBe(new AuditChainVerification(false, 2, "Line 3: it is not an audit event."));
        AuditChainVerifier.Verify(With(2, "{\"x\":1" + lines[2]), _key).ShouldBe(new AuditChainVerification(false, 2, "Line 3: it is not an audit event."));
        AuditChainVerifier.Verify(With(2, other[1]), _key).ShouldBe(new AuditChainVerification(false, 2, "Line 3: it belongs to session t, not s."));
        AuditChainVerifier.Verify(With(2, lines[3]), _key).ShouldBe(new AuditChainVerification(false, 2, "Line 3: its sequence number is 4 where 3 was due."));
        AuditChainVerifier.Verify(With(2, lines[2].Replace("\"Number\":2", "\"Number\":5", StringComparison.Ordinal)), _key).ShouldBe(new AuditChainVerification(false, 2,
            "Line 3: its chain value does not follow from the lines before it (a line was altered, removed, inserted or moved)."));
        AuditChainVerifier.VerifySession([new AuditFileLines(FirstFile, lines.Take(2))], _key).ShouldBe(new AuditChainVerification(true, 2, null));
        AuditChainVerifier.VerifySession([new AuditFileLines(FirstFile, With(1, "x"))], _key).Problem.ShouldBe($"{FirstFile} line 2: it carries no chain value.");
    }

    [Fact]
    public async Task Past_the_point_resumed_from_only_copies_of_verified_lines_and_what_is_not_an_event_may_stand()
    {
        var lines = await WriteAsync(6);
        (string, IEnumerable<string>) second = (SecondFile, [Link(FirstFile, 3, ChainOf(lines[2])), .. lines.Skip(3)]);

        Session((FirstFile, [.. lines.Take(5), "\0\0{\"torn", "{\"NotAnEvent\":true}", "[1]"]), second).ShouldBe(new AuditChainVerification(true, 6, null));
        Session((FirstFile, [.. lines.Take(3), lines[4], lines[3]]), second).ShouldBe(new AuditChainVerification(true, 6, null));
        Session((FirstFile, [.. lines.Take(4), lines[4].Replace("\"Number\":4", "\"Number\":9", StringComparison.Ordinal)]), second).ShouldBe(new AuditChainVerification(false, 6,
            $"{FirstFile} line 5: it lies past the point the next file resumes from and is not a copy of any line verified there (it was altered, or the continuation was forged)."));
        Session((FirstFile, lines.Take(2)), second).ShouldBe(new AuditChainVerification(false, 2,
            $"{FirstFile} line 3: it ends at sequence number 2, but the next file continues after 3 (lines known durable are missing)."));
        // Before the point resumed from, a problem is a problem.
        Session((FirstFile, [.. lines.Take(2), "\0\0{\"torn", lines[2]]), second).ShouldBe(new AuditChainVerification(false, 2,
            $"{FirstFile} line 3: it carries no chain value."));
    }
}

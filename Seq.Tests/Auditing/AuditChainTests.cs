using Microsoft.Extensions.Logging.Abstractions;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Cli;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

public sealed class AuditChainTests : IDisposable
{
    readonly string _directory = TestDirectories.NewPath("chain");
    readonly SecretKey _key = SecretKey.Generate();

    async Task<string[]> WriteAuditFileAsync(int events)
    {
        var session = AuditSession.Start();
        var target = new FileAuditTarget(_directory, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance);
        await using (var log = new AuditLog(target, session, _key, TimeProvider.System))
        {
            // Each Begin is closed by the Complete after it, as `audit verify` checks.
            var operation = Guid.Empty;
            for (var i = 0; i < events; i++)
            {
                if (i % 2 == 0)
                    operation = Guid.NewGuid();
                var entry = new AuditEntry("Test", "Chain", i % 2 == 0 ? AuditEventKind.Begin : AuditEventKind.Complete, operation,
                    "Event {Number}", [new("Number", i)]);
                await log.WriteAsync(entry, Principal.Anonymous, null, CancellationToken.None);
            }
        }
        return File.ReadAllLines(Directory.GetFiles(_directory).Single());
    }

    [Fact]
    public async Task An_untouched_file_verifies_and_every_kind_of_tampering_is_found_at_the_line_where_it_happened()
    {
        var lines = await WriteAuditFileAsync(10);
        AuditChainVerifier.Verify(lines, _key).ShouldBe(new AuditChainVerification(true, 10, null));

        string[] removed = [.. lines.Take(4), .. lines.Skip(5)];
        string[] altered = [.. lines];
        altered[6] = altered[6].Replace("\"Number\":6", "\"Number\":7", StringComparison.Ordinal);
        string[] reordered = [.. lines];
        (reordered[2], reordered[3]) = (reordered[3], reordered[2]);
        string[] inserted = [.. lines.Take(8), lines[1], .. lines.Skip(8)];

        AuditChainVerifier.Verify(removed, _key).LinesVerified.ShouldBe(4);
        AuditChainVerifier.Verify(altered, _key).ShouldSatisfyAllConditions(v => v.IsIntact.ShouldBeFalse(), v => v.LinesVerified.ShouldBe(6));
        AuditChainVerifier.Verify(reordered, _key).LinesVerified.ShouldBe(2);
        AuditChainVerifier.Verify(inserted, _key).LinesVerified.ShouldBe(8);
        AuditChainVerifier.Verify(lines, SecretKey.Generate()).ShouldSatisfyAllConditions(v => v.IsIntact.ShouldBeFalse(), v => v.LinesVerified.ShouldBe(0));
    }

    [Fact]
    public async Task A_renumbered_sequence_cannot_hide_a_removed_line()
    {
        var lines = await WriteAuditFileAsync(5);
        // Removing line 3 and renumbering the rest keeps the sequence whole, but not the chain.
        string[] renumbered = [lines[0], lines[1], lines[3].Replace("\"SequenceNumber\":4", "\"SequenceNumber\":3", StringComparison.Ordinal), lines[4]];

        var verification = AuditChainVerifier.Verify(renumbered, _key);

        verification.IsIntact.ShouldBeFalse();
        verification.LinesVerified.ShouldBe(2);
    }

    [Fact]
    public async Task Seqsvr_audit_verify_reports_an_intact_file_with_exit_0_and_a_tampered_one_with_exit_2()
    {
        var lines = await WriteAuditFileAsync(6);
        var file = Directory.GetFiles(_directory).Single();
        using var seqsvr = new Seqsvr();

        var intact = await seqsvr.RunWithInputAsync(_key.ToBase64() + "\n", "audit", "verify", "--file", file, "--key-on-input");
        intact.ExitCode.ShouldBe(0, intact.Everything);
        intact.Output.ShouldContain("intact, 6 lines");

        await File.WriteAllLinesAsync(file, lines.Where((_, i) => i != 2));
        var tampered = await seqsvr.RunWithInputAsync(_key.ToBase64() + "\n", "audit", "verify", "--file", file, "--key-on-input");
        tampered.ExitCode.ShouldBe(2);
        tampered.Error.ShouldContain("NOT intact after 2 good lines");
    }

    sealed class Unprintable
    {
        public override string ToString() => throw new InvalidOperationException("This value cannot be printed.");
    }

    [Fact]
    public async Task A_property_that_cannot_be_formatted_takes_no_sequence_number()
    {
        var session = AuditSession.Start();
        var target = new FileAuditTarget(_directory, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance);
        await using (var log = new AuditLog(target, session, _key, TimeProvider.System))
        {
            AuditEntry Entry(object? value) => new("Test", "Format", AuditEventKind.Record, Guid.NewGuid(), "Value {Value}", [new("Value", value)]);
            await log.WriteAsync(Entry("first"), Principal.Anonymous, null, CancellationToken.None);
            await Should.ThrowAsync<InvalidOperationException>(() => log.WriteAsync(Entry(new Unprintable()), Principal.Anonymous, null, CancellationToken.None));
            await log.WriteAsync(Entry("second"), Principal.Anonymous, null, CancellationToken.None);
        }

        var lines = File.ReadAllLines(Directory.GetFiles(_directory).Single());
        lines.Length.ShouldBe(2);
        AuditChainVerifier.Verify(lines, _key).ShouldBe(new AuditChainVerification(true, 2, null));
    }

    /// <summary>
    /// Splits one session's lines as the file target does after a failed fsync after line <paramref name="durable"/>:
    /// the first file ends with lines that may or may not have survived, the second starts with the link.
    /// </summary>
    static (string[] First, string[] Second) Split(string[] lines, int durable, int lostAfter, string firstName)
    {
        using var head = System.Text.Json.JsonDocument.Parse(lines[durable - 1]);
        var link = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["@t"] = "2026-12-01T00:00:00.0000000Z",
            ["AuditSession"] = head.RootElement.GetProperty("AuditSession").GetString(),
            [AuditChainVerifier.ContinuesFromProperty] = firstName,
            [AuditChainVerifier.ContinuesAfterProperty] = durable,
            [AuditChainVerifier.ContinuesFromChainProperty] = head.RootElement.GetProperty("AuditChain").GetString(),
        });
        return ([.. lines.Take(lostAfter), "\0\0\0{\"torn"], [link, .. lines.Skip(durable)]);
    }

    [Fact]
    public async Task A_session_continued_in_a_second_file_verifies_across_both_and_a_broken_link_or_a_missing_durable_line_is_found()
    {
        var lines = await WriteAuditFileAsync(10);
        var firstName = Path.GetFileName(Directory.GetFiles(_directory).Single());
        var (first, second) = Split(lines, durable: 4, lostAfter: 6, firstName);
        AuditFileLines First(string[] l) => new(firstName, l);
        AuditFileLines Second(string[] l) => new(firstName.Replace(".ndjson", "-2.ndjson", StringComparison.Ordinal), l);

        AuditChainVerifier.VerifySession([First(first), Second(second)], _key).ShouldBe(new AuditChainVerification(true, 10, null));
        AuditChainVerifier.VerifySession([Second(second), First(first)], _key).IsIntact.ShouldBeTrue("the links put the files in order");

        AuditChainVerifier.Verify(second, _key).Problem.ShouldNotBeNull().ShouldContain("verify it together with the files before it");
        AuditChainVerifier.Verify(first, _key).IsIntact.ShouldBeFalse("alone, the first file ends in a torn line");

        string[] alteredBeforeTheLink = [.. first];
        alteredBeforeTheLink[2] = alteredBeforeTheLink[2].Replace("\"Number\":2", "\"Number\":3", StringComparison.Ordinal);
        AuditChainVerifier.VerifySession([First(alteredBeforeTheLink), Second(second)], _key).ShouldSatisfyAllConditions(
            v => v.IsIntact.ShouldBeFalse(), v => v.LinesVerified.ShouldBe(2));

        var durableLineMissing = first.Take(3).ToArray();
        AuditChainVerifier.VerifySession([First(durableLineMissing), Second(second)], _key).Problem.ShouldNotBeNull().ShouldContain("the next file continues after 4");

        var (_, forged) = Split(lines, durable: 4, lostAfter: 6, firstName);
        forged[0] = forged[0].Replace("\"ContinuesAfter\":4", "\"ContinuesAfter\":3", StringComparison.Ordinal);
        AuditChainVerifier.VerifySession([First(first), Second(forged)], _key).IsIntact.ShouldBeFalse();

        string[] alteredPastTheResumePoint = [.. first];
        alteredPastTheResumePoint[5] = alteredPastTheResumePoint[5].Replace("\"Number\":5", "\"Number\":9", StringComparison.Ordinal);
        alteredPastTheResumePoint[5].ShouldNotBe(first[5]);
        AuditChainVerifier.VerifySession([First(alteredPastTheResumePoint), Second(second)], _key).Problem.ShouldNotBeNull()
            .ShouldContain("not a copy of any line verified there");

        string[] alteredAfterTheLink = [.. second];
        alteredAfterTheLink[3] = alteredAfterTheLink[3].Replace("\"Number\":6", "\"Number\":7", StringComparison.Ordinal);
        AuditChainVerifier.VerifySession([First(first), Second(alteredAfterTheLink)], _key).ShouldSatisfyAllConditions(
            v => v.IsIntact.ShouldBeFalse(), v => v.LinesVerified.ShouldBe(6));
    }

    [Fact]
    public async Task Seqsvr_audit_verify_given_the_first_file_of_a_session_verifies_its_continuation_files_with_it()
    {
        var lines = await WriteAuditFileAsync(8);
        var firstPath = Directory.GetFiles(_directory).Single();
        var (first, second) = Split(lines, durable: 5, lostAfter: 7, Path.GetFileName(firstPath));
        await File.WriteAllLinesAsync(firstPath, first);
        await File.WriteAllLinesAsync(firstPath.Replace(".ndjson", "-2.ndjson", StringComparison.Ordinal), second);
        using var seqsvr = new Seqsvr();

        var intact = await seqsvr.RunWithInputAsync(_key.ToBase64() + "\n", "audit", "verify", "--file", firstPath, "--key-on-input");

        intact.ExitCode.ShouldBe(0, intact.Everything);
        intact.Output.ShouldContain("-2.ndjson");
        intact.Output.ShouldContain("intact, 8 lines");
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }
}

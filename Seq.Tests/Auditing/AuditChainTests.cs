using Microsoft.Extensions.Logging.Abstractions;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Cli;

namespace Seq.Tests.Auditing;

public sealed class AuditChainTests : IDisposable
{
    readonly string _directory = Path.Combine(Path.GetTempPath(), "seq-chain-" + Guid.NewGuid().ToString("N")[..8]);
    readonly SecretKey _key = SecretKey.Generate();

    async Task<string[]> WriteAuditFileAsync(int events)
    {
        var session = AuditSession.Start();
        var target = new FileAuditTarget(_directory, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance);
        await using (var log = new AuditLog(target, session, _key, TimeProvider.System))
        {
            for (var i = 0; i < events; i++)
            {
                var entry = new AuditEntry("Test", "Chain", i % 2 == 0 ? AuditEventKind.Begin : AuditEventKind.Complete, Guid.NewGuid(),
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

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }
}

using System.Text;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Auditing;

/// <summary>
/// Verify reads a file's lines on a second thread, in batches of 256, while it follows the chain, and replay streams
/// (ADR 0044): neither may change what they report, wherever in the file the tampering is and whatever order the
/// lines come in.
/// </summary>
public sealed class AuditTrailReadAheadTests
{
    readonly SecretKey _key = SecretKey.Generate();
    readonly AuditSession _session = AuditSession.Start();

    /// <summary>Takes every line at once, as durable.</summary>
    sealed class MemoryTarget : IAuditTarget
    {
        public List<string> Lines { get; } = [];
        public string Description => "memory";
        public AuditTargetState State => AuditTargetState.Available;
        public string? Problem => null;
        public string? Refusal => null;
        public long QueuedLines => 0;
        public long QueuedBytes => 0;
        public long DurableLines => Lines.Count;

        public Task Enqueue(byte[] line, bool blocking)
        {
            Lines.Add(Encoding.UTF8.GetString(line));
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>The lines of operations written one after the other, each a Begin and the given closing event (none: left open).</summary>
    async Task<List<string>> WriteAsync(params AuditEventKind?[] closings)
    {
        var target = new MemoryTarget();
        await using (var log = new AuditLog(target, _session, _key, TimeProvider.System))
        {
            for (var i = 0; i < closings.Length; i++)
            {
                var operation = Guid.NewGuid();
                await log.WriteAsync(new AuditEntry("Test", "ReadAhead", AuditEventKind.Begin, operation, "Event {Number}", [new("Number", i)]),
                    Principal.Anonymous, null, CancellationToken.None);
                if (closings[i] is { } closing)
                    await log.WriteAsync(new AuditEntry("Test", "ReadAhead", closing, operation, "Event {Number}", [new("Number", i)],
                        closing == AuditEventKind.Complete ? null : $"System.InvalidOperationException: refused {i}\n   at Somewhere()"),
                        Principal.Anonymous, null, CancellationToken.None);
            }
        }
        return target.Lines;
    }

    AuditFileBytes File(IEnumerable<string> lines, string? name = null) =>
        new(name ?? $"seq-audit-20261202-{_session.Id}.ndjson", Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))));

    static int IndexOf(List<string> lines, long sequence) => lines.FindIndex(l => l.Contains($"\"SequenceNumber\":{sequence},", StringComparison.Ordinal));

    [Fact]
    public async Task Tampering_at_the_edges_of_the_read_ahead_batches_is_reported_as_it_is_without_reading_ahead()
    {
        var lines = await WriteAsync([.. Enumerable.Repeat<AuditEventKind?>(AuditEventKind.Complete, 700)]);
        lines.Count.ShouldBe(1400);

        // Lines 256 and 257 straddle the first batch's end: swapped.
        (lines[255], lines[256]) = (lines[256], lines[255]);
        // The last line of the second batch (sequence number 512, a Complete) is removed: the line after it is the first of the third.
        lines.RemoveAt(IndexOf(lines, 512));
        // An exact copy of line 700, a batch later.
        lines.Insert(IndexOf(lines, 800), lines[IndexOf(lines, 700)]);
        // Line 1025 (a Begin) is altered.
        var altered = IndexOf(lines, 1025);
        lines[altered] = lines[altered].Replace("\"Number\":512", "\"Number\":513", StringComparison.Ordinal);
        // A write cut short at the end.
        lines.Add(lines[^1][..40]);
        var file = File(lines);

        var ahead = new AuditTrailVerifier(_key) { ReadAhead = true }.Verify([file], anchors: null);
        var alone = new AuditTrailVerifier(_key) { ReadAhead = false }.Verify([file], anchors: null);

        ahead.Findings.ShouldBe(alone.Findings);
        ahead.Summary.ShouldBe(alone.Summary);
        ahead.Sessions.Single().ShouldBeEquivalentTo(alone.Sessions.Single());
        ahead.Findings.Where(f => f.Kind != AuditFindingKind.Unchecked).Select(f => (f.Kind, f.SequenceNumber)).ShouldBe(
        [
            (AuditFindingKind.OutOfOrder, 257L),
            (AuditFindingKind.Removed, 513L),
            (AuditFindingKind.Duplicate, 700L),
            (AuditFindingKind.Altered, 1025L),
            (AuditFindingKind.Torn, null),
            // Its Complete was the line removed, and the session has no End line.
            (AuditFindingKind.Interrupted, 511L),
        ]);
        ahead.Findings.Single(f => f.Kind == AuditFindingKind.OutOfOrder).Line.ShouldBe(256);
        ahead.ExitCode.ShouldBe(2);
        ahead.Summary.Lines.ShouldBe(1401);
    }

    [Fact]
    public async Task Replay_takes_each_sequence_number_once_and_pairs_operations_whatever_order_the_lines_and_files_come_in()
    {
        // Operations: 1 Complete (lines 1–2), 2 Abandon (3–4), 3 left open (5), 4 Fail (6–7).
        var lines = await WriteAsync(AuditEventKind.Complete, AuditEventKind.Abandon, null, AuditEventKind.Fail);
        var inOrder = AuditReplay.Timeline([File(lines)], new AuditReplayFilter());
        inOrder.Select(r => (r.SequenceNumber, r.Outcome, r.Reason)).ShouldBe(
        [
            (1L, "Complete", null),
            (3L, "Abandon", "refused 1"),
            (5L, AuditReplay.Interrupted, null),
            (6L, "Fail", "refused 3"),
        ]);

        // The same lines: the closing events first, every Begin twice, in two files given newest first, the second unnamed.
        var scrambled = AuditReplay.Timeline(
        [
            File([lines[6], lines[1], lines[3], lines[4]], $"seq-audit-20261202-{_session.Id}-2.ndjson"),
            File([lines[5], lines[2], lines[0], lines[5], lines[2], lines[0]], "copied.ndjson"),
        ], new AuditReplayFilter());

        scrambled.ShouldBe(inOrder);
    }
}

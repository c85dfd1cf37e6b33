using System.Runtime.InteropServices;
using Seq.Application.Auditing;

namespace Seq.Infrastructure.Auditing;

/// <summary>One operation in the timeline: how it began, who did it, how it ended and how long it took.</summary>
public sealed record AuditTimelineRow(
    DateTimeOffset? Time, string AuditSession, long SequenceNumber, string OperationId, string? Principal, string? PrincipalType,
    string Category, string Operation, string Outcome, string? Reason, double? DurationMilliseconds,
    string? HttpRequestMethod, string? HttpRequestPath, string? RemoteIPAddress);

/// <summary>Which operations a replay shows; every given condition must hold (text compares without regard to case).</summary>
public sealed record AuditReplayFilter(string? Category = null, string? Operation = null, string? Principal = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <summary>
/// The timeline of audit files, one row per <c>OperationId</c>, in the order operations began (issue 15). It reads
/// the lines as written and does not verify them; <see cref="AuditTrailVerifier"/> does that.
/// </summary>
/// <remarks>
/// It streams: each line is read, counted towards its operation and dropped. Per operation it keeps only its earliest
/// event and its two earliest closing events (by sequence number), which is all a row needs whatever order the lines
/// come in; per session the sequence numbers seen, as ranges (one range when the lines come in order), so that of
/// lines with the same sequence number only the first counts, as duplicates and the lines a continuation file writes
/// again are the same events.
/// </remarks>
public static class AuditReplay
{
    public const string Interrupted = "Interrupted";

    public static List<AuditTimelineRow> Timeline(IEnumerable<AuditFileBytes> files, AuditReplayFilter filter)
    {
        var rows = new List<AuditTimelineRow>();
        foreach (var (session, sessionFiles) in GroupSessions(files))
        {
            var seen = new SequenceRanges();
            var operations = new Dictionary<AuditTrailVerifier.OperationKey, OperationEvents>();
            var ended = false;
            foreach (var file in sessionFiles)
            {
                foreach (var line in ReadLines(file))
                {
                    if (!line.IsEvent || line.AuditSession != session || !line.HasOperationId || line.Category is null || line.Operation is null)
                        continue;
                    var sequence = line.SequenceNumber!.Value;
                    if (!seen.Add(sequence))
                        continue;
                    ended |= line.Category == AuditCatalogue.SessionEnded.Category && line.Operation == AuditCatalogue.SessionEnded.Operation;
                    ref var operation = ref CollectionsMarshal.GetValueRefOrAddDefault(operations, AuditTrailVerifier.OperationKey.Of(line), out _);
                    operation.Add(line, sequence);
                }
            }
            foreach (var (key, operation) in operations)
            {
                var first = operation.First!;
                var closing = operation.Closing;
                var outcome = first.Event switch
                {
                    "Begin" => closing?.Event ?? (ended ? "Unclosed" : Interrupted),
                    _ => first.Event ?? "",
                };
                var who = closing is { PrincipalType: not "Public" } && first.PrincipalType == "Public" ? closing : first;
                double? duration = closing?.Time is { } end && first.Time is { } start ? (end - start).TotalMilliseconds : first.Event == "Begin" ? null : 0;
                var row = new AuditTimelineRow(first.Time, session, first.SequenceNumber, key.Text, who.Principal, who.PrincipalType,
                    first.Category, first.Operation, outcome, closing?.Reason, duration, first.HttpRequestMethod, first.HttpRequestPath, first.RemoteIPAddress);
                if (Matches(row, filter))
                    rows.Add(row);
            }
        }
        return [.. rows.OrderBy(r => r.Time ?? DateTimeOffset.MinValue).ThenBy(r => r.AuditSession, StringComparer.Ordinal).ThenBy(r => r.SequenceNumber)];
    }

    /// <summary>The files grouped into sessions as <see cref="AuditTrailVerifier.ReadSessions"/> groups them, without keeping their lines.</summary>
    static List<(string Session, List<AuditFileBytes> Files)> GroupSessions(IEnumerable<AuditFileBytes> files)
    {
        var groups = new List<(string Session, List<AuditFileBytes> Files)>();
        var bySession = new Dictionary<string, List<AuditFileBytes>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var session = FileAuditTarget.TryParseFileName(file.Name, out var named, out _) ? named
                : ReadLines(file).FirstOrDefault(l => !l.IsTorn && l.AuditSession is not null)?.AuditSession ?? file.Name;
            if (!bySession.TryGetValue(session, out var group))
            {
                bySession[session] = group = [];
                groups.Add((session, group));
            }
            group.Add(file);
        }
        return groups;
    }

    /// <summary>The file's non-blank lines, each read when it is reached.</summary>
    static IEnumerable<AuditLine> ReadLines(AuditFileBytes file)
    {
        var number = 0;
        foreach (var (start, length) in AuditLineReader.Lines(file.Bytes))
        {
            number++;
            var bytes = new ReadOnlyMemory<byte>(file.Bytes, start, length);
            if (length == 0 || bytes.Span.Trim(" \t\r"u8).Length == 0)
                continue;
            var line = AuditLineReader.Read(file.Name, number, bytes.Span);
            line.Bytes = bytes;
            yield return line;
        }
    }

    /// <summary>What a row takes from one event.</summary>
    sealed class TimelineEvent(AuditLine line, long sequence)
    {
        public long SequenceNumber { get; } = sequence;
        public DateTimeOffset? Time { get; } = line.Time;
        public string? Event { get; } = line.Event;
        public string? Principal { get; } = line.Principal;
        public string? PrincipalType { get; } = line.PrincipalType;
        public string Category { get; } = line.Category!;
        public string Operation { get; } = line.Operation!;
        public string? HttpRequestMethod { get; } = line.HttpRequestMethod;
        public string? HttpRequestPath { get; } = line.HttpRequestPath;
        public string? RemoteIPAddress { get; } = line.RemoteIPAddress;

        /// <summary>The refusal's message, for an Abandon or Fail.</summary>
        public string? Reason { get; } = line.Event is "Abandon" or "Fail" ? FirstLine(line.Exception) : null;
    }

    /// <summary>
    /// An operation's earliest event and its two earliest closing events: its closing event is the earliest closing
    /// event after the first, which is the second when the first is itself a closing event.
    /// </summary>
    struct OperationEvents
    {
        public TimelineEvent? First;
        TimelineEvent? _closing;
        TimelineEvent? _nextClosing;

        public readonly TimelineEvent? Closing => ReferenceEquals(_closing, First) ? _nextClosing : _closing;

        public void Add(AuditLine line, long sequence)
        {
            var isFirst = First is null || sequence < First.SequenceNumber;
            var isClosing = line.Event is "Complete" or "Abandon" or "Fail" && (_nextClosing is null || sequence < _nextClosing.SequenceNumber);
            if (!isFirst && !isClosing)
                return;
            var read = new TimelineEvent(line, sequence);
            if (isFirst)
                First = read;
            if (!isClosing)
                return;
            if (_closing is null || sequence < _closing.SequenceNumber)
                (_closing, _nextClosing) = (read, _closing);
            else
                _nextClosing = read;
        }
    }

    /// <summary>A set of sequence numbers as ordered, disjoint ranges; adding the next number in order costs nothing more.</summary>
    sealed class SequenceRanges
    {
        readonly List<(long From, long To)> _ranges = [];

        /// <summary>Adds the number; false when it was there already.</summary>
        public bool Add(long sequence)
        {
            var count = _ranges.Count;
            if (count == 0 || sequence > _ranges[count - 1].To)
            {
                if (count > 0 && sequence == _ranges[count - 1].To + 1)
                    _ranges[count - 1] = (_ranges[count - 1].From, sequence);
                else
                    _ranges.Add((sequence, sequence));
                return true;
            }
            // The first range that ends at or after the number.
            int low = 0, high = count - 1;
            while (low < high)
            {
                var middle = (low + high) / 2;
                if (_ranges[middle].To < sequence)
                    low = middle + 1;
                else
                    high = middle;
            }
            var (from, to) = _ranges[low];
            if (sequence >= from)
                return false;
            var joinsBefore = low > 0 && _ranges[low - 1].To == sequence - 1;
            var joinsAfter = from == sequence + 1;
            if (joinsBefore && joinsAfter)
            {
                _ranges[low - 1] = (_ranges[low - 1].From, to);
                _ranges.RemoveAt(low);
            }
            else if (joinsBefore)
                _ranges[low - 1] = (_ranges[low - 1].From, sequence);
            else if (joinsAfter)
                _ranges[low] = (sequence, to);
            else
                _ranges.Insert(low, (sequence, sequence));
            return true;
        }
    }

    static bool Matches(AuditTimelineRow row, AuditReplayFilter filter) =>
        (filter.Category is null || string.Equals(row.Category, filter.Category, StringComparison.OrdinalIgnoreCase))
        && (filter.Operation is null || string.Equals(row.Operation, filter.Operation, StringComparison.OrdinalIgnoreCase))
        && (filter.Principal is null || string.Equals(row.Principal, filter.Principal, StringComparison.OrdinalIgnoreCase))
        && (filter.From is null || row.Time >= filter.From)
        && (filter.To is null || row.Time < filter.To);

    /// <summary>The refusal's message: the first line of <c>@x</c>, without the exception's type name.</summary>
    static string? FirstLine(string? exception)
    {
        if (exception is null)
            return null;
        var line = exception.Split('\n', 2)[0].TrimEnd('\r');
        var colon = line.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && !line[..colon].Contains(' ', StringComparison.Ordinal) ? line[(colon + 2)..] : line;
    }
}

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
public static class AuditReplay
{
    public const string Interrupted = "Interrupted";

    public static List<AuditTimelineRow> Timeline(IEnumerable<AuditFileBytes> files, AuditReplayFilter filter)
    {
        var rows = new List<AuditTimelineRow>();
        foreach (var session in AuditTrailVerifier.ReadSessions(files))
        {
            // Each sequence number once: duplicates and the lines a continuation file writes again are the same events.
            var events = new SortedDictionary<long, AuditLine>();
            foreach (var line in session.Files.SelectMany(f => f.Lines))
            {
                if (line.IsEvent && line.AuditSession == session.Session && line.OperationId is not null && line.Category is not null && line.Operation is not null)
                    events.TryAdd(line.SequenceNumber!.Value, line);
            }
            var ended = events.Values.Any(l => l.Category == AuditCatalogue.SessionEnded.Category && l.Operation == AuditCatalogue.SessionEnded.Operation);
            var operations = new Dictionary<string, (AuditLine First, AuditLine? Closing)>(StringComparer.Ordinal);
            var order = new List<string>();
            foreach (var line in events.Values)
            {
                if (!operations.TryGetValue(line.OperationId!, out var operation))
                {
                    operations[line.OperationId!] = (line, null);
                    order.Add(line.OperationId!);
                }
                else if (operation.Closing is null && line.Event is "Complete" or "Abandon" or "Fail")
                    operations[line.OperationId!] = operation with { Closing = line };
            }
            foreach (var id in order)
            {
                var (first, closing) = operations[id];
                var outcome = first.Event switch
                {
                    "Begin" => closing?.Event ?? (ended ? "Unclosed" : Interrupted),
                    _ => first.Event ?? "",
                };
                var who = closing is { PrincipalType: not "Public" } && first.PrincipalType == "Public" ? closing : first;
                var reason = closing?.Event is "Abandon" or "Fail" ? FirstLine(closing.Exception) : null;
                double? duration = closing?.Time is { } end && first.Time is { } start ? (end - start).TotalMilliseconds : first.Event == "Begin" ? null : 0;
                rows.Add(new AuditTimelineRow(first.Time, session.Session, first.SequenceNumber!.Value, id, who.Principal, who.PrincipalType,
                    first.Category!, first.Operation!, outcome, reason, duration, first.HttpRequestMethod, first.HttpRequestPath, first.RemoteIPAddress));
            }
        }
        return
        [
            .. rows.Where(r => Matches(r, filter))
                .OrderBy(r => r.Time ?? DateTimeOffset.MinValue).ThenBy(r => r.AuditSession, StringComparer.Ordinal).ThenBy(r => r.SequenceNumber),
        ];
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

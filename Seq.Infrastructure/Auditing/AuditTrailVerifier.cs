using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Auditing;

/// <summary>What a finding says about the trail; the first nine are evidence of tampering or loss.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AuditFindingKind>))]
public enum AuditFindingKind
{
    /// <summary>A line's content does not match its chain value.</summary>
    Altered,
    /// <summary>A line that belongs nowhere in the chain.</summary>
    Inserted,
    /// <summary>Sequence numbers are missing between two lines.</summary>
    Removed,
    /// <summary>Two lines are in each other's place.</summary>
    OutOfOrder,
    /// <summary>A line breaks the audit schema.</summary>
    Invalid,
    /// <summary>A closing event without its Begin, a second closing event, or a Begin left open in a session that ended cleanly.</summary>
    Unpaired,
    /// <summary>Lines known durable are missing from the end of a session.</summary>
    Truncated,
    /// <summary>A file of a session is missing.</summary>
    MissingFile,
    /// <summary>A whole session is missing.</summary>
    MissingSession,
    /// <summary>A line that is not JSON, as a crash mid-write leaves it.</summary>
    Torn,
    /// <summary>A Begin still open when its session stopped without an End line: the server stopped mid-operation.</summary>
    Interrupted,
    /// <summary>An exact copy of a line already seen (the server target delivers at least once).</summary>
    Duplicate,
    /// <summary>Something the verifier could not check with what it was given.</summary>
    Unchecked,
}

public sealed record AuditFinding(AuditFindingKind Kind, string? AuditSession, string? File, int? Line, long? SequenceNumber, string Message)
{
    public bool IsTampering => Kind < AuditFindingKind.Torn;

    public override string ToString() =>
        $"{Kind}: {(File is null ? "" : $"{File}{(Line is { } l ? $" line {l}" : "")}: ")}{(SequenceNumber is { } s ? $"(sequence number {s}) " : "")}{Message}";
}

public sealed record AuditSessionResult(
    string AuditSession, IReadOnlyList<string> Files, long Lines, long LastSequenceNumber, bool Ended, string? PreviousAuditSession,
    int GoodLinesBeforeFirstProblem, bool Intact);

public sealed record AuditVerificationSummary(int Sessions, int Files, long Lines, long Operations, int Interrupted, int Duplicates, int Torn, bool TailChecked);

/// <summary>The outcome of <see cref="AuditTrailVerifier"/>: every finding, in order, and the counts.</summary>
public sealed record AuditTrailVerification(AuditVerificationSummary Summary, IReadOnlyList<AuditSessionResult> Sessions, IReadOnlyList<AuditFinding> Findings)
{
    /// <summary>0 when everything holds, 2 on tampering or loss, 3 when nothing was tampered with but the server crashed (torn lines, interrupted operations).</summary>
    public int ExitCode => Findings.Any(f => f.IsTampering) ? 2 : Findings.Any(f => f.Kind is AuditFindingKind.Torn or AuditFindingKind.Interrupted) ? 3 : 0;
}

/// <summary>One audit file's name and bytes.</summary>
public sealed record AuditFileBytes(string Name, byte[] Bytes);

/// <summary>
/// Verifies audit files as a whole (issue 15, ADR 0007): every line against the audit schema; per session the
/// sequence from 1 without gaps, the HMAC chain across its files, Begin/closing pairs and the End line; the links
/// between sessions; and, when the anchors from the database are given, that nothing is missing from the end.
/// Unlike <see cref="AuditChainVerifier"/> it does not stop at the first problem: it resynchronizes and names each.
/// </summary>
public sealed class AuditTrailVerifier
{
    const int MaximumFindingsPerSession = 200;

    readonly byte[] _key;
    readonly IncrementalHash _hmac;
    readonly byte[] _computed = new byte[32];
    readonly byte[] _presented = new byte[32];
    readonly byte[] _scratch = new byte[32];

    public AuditTrailVerifier(SecretKey secretKey)
    {
        _key = secretKey.DeriveSubkey(SecretPurposes.AuditIntegrity);
        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
    }

    /// <summary>
    /// Whether a second thread reads and checks the lines of a file ahead of the one that follows the chain (on by
    /// default when there is more than one processor): the chain is sequential, reading the lines is not, so the two
    /// take about as long together as the slower of them alone. The findings are the same either way.
    /// </summary>
    public bool ReadAhead { get; init; } = Environment.ProcessorCount > 1;

    /// <summary>
    /// How many lines of the last <see cref="Verify"/> the read-ahead thread delivered; the verifying thread read the
    /// rest itself. On a trail without anomalies that is every line after a continuation link: fewer means the read-ahead
    /// fell behind or stopped, and verification takes as long as with one thread.
    /// </summary>
    internal long LinesReadAhead { get; private set; }

    /// <summary>Reads every line of the files, grouped into sessions by their names or contents.</summary>
    /// <param name="full">Also the properties only a timeline needs.</param>
    public static List<AuditSessionFiles> ReadSessions(IEnumerable<AuditFileBytes> files, bool full = true)
    {
        var sessions = new Dictionary<string, AuditSessionFiles>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var lines = new List<AuditLine>();
            var number = 0;
            foreach (var (start, length) in AuditLineReader.Lines(file.Bytes))
            {
                number++;
                var bytes = new ReadOnlyMemory<byte>(file.Bytes, start, length);
                if (length == 0 || bytes.Span.Trim(" \t\r"u8).Length == 0)
                    continue;
                var line = AuditLineReader.Read(file.Name, number, bytes.Span, full);
                line.Bytes = bytes;
                lines.Add(line);
            }
            var session = FileAuditTarget.TryParseFileName(file.Name, out var named, out _) ? named
                : lines.FirstOrDefault(l => !l.IsTorn && l.AuditSession is not null)?.AuditSession ?? file.Name;
            if (!sessions.TryGetValue(session, out var group))
                sessions[session] = group = new AuditSessionFiles(session, []);
            group.Files.Add(new AuditFileLines2(file.Name, lines));
        }
        return [.. sessions.Values];
    }

    /// <param name="anchors">The anchors from the instance's database, or null when there are none to check against.</param>
    /// <param name="directories">The folders the files came from: a session the anchors place in one of them must be among the files.</param>
    public AuditTrailVerification Verify(IEnumerable<AuditFileBytes> files, IReadOnlyList<AuditSessionAnchor>? anchors, IReadOnlyCollection<string>? directories = null)
    {
        var findings = new List<AuditFinding>();
        var states = new List<SessionState>();
        foreach (var session in GroupSessions(files))
        {
            var state = new SessionState(session);
            VerifySession(state);
            states.Add(state);
        }
        foreach (var state in states)
            findings.AddRange(state.Findings);
        LinesReadAhead = states.Sum(s => s.Files.Files.Sum(f => (long)f.LinesReadAhead));
        findings.AddRange(CheckLinks(states, anchors, directories));

        var results = states.Select(s => new AuditSessionResult(s.Files.Session, [.. s.OrderedFiles], s.LineCount, s.MaxSequence, s.EndSequence > 0,
            s.Start?.PreviousAuditSession, s.GoodBeforeFirstProblem ?? (int)s.Verified,
            !findings.Any(f => f.IsTampering && f.AuditSession == s.Files.Session))).ToList();
        var summary = new AuditVerificationSummary(states.Count, states.Sum(s => s.Files.Files.Count), states.Sum(s => s.LineCount),
            states.Sum(s => (long)s.Operations.Count), findings.Count(f => f.Kind == AuditFindingKind.Interrupted),
            findings.Count(f => f.Kind == AuditFindingKind.Duplicate), findings.Count(f => f.Kind == AuditFindingKind.Torn), anchors is not null);
        return new AuditTrailVerification(summary, results, findings);
    }

    /// <summary>
    /// The files grouped into sessions as <see cref="ReadSessions"/> groups them, but without reading their lines:
    /// verification reads each line when it reaches it and keeps only what later lines need (chain values, open
    /// operations), so that a large trail does not become millions of objects the collector must mark again and again.
    /// </summary>
    static List<SessionFiles> GroupSessions(IEnumerable<AuditFileBytes> files)
    {
        var sessions = new Dictionary<string, SessionFiles>(StringComparer.Ordinal);
        var ordered = new List<SessionFiles>();
        foreach (var bytes in files)
        {
            var file = new FileLines(bytes);
            string session;
            if (FileAuditTarget.TryParseFileName(file.Name, out var named, out _))
                session = named;
            else
            {
                session = file.Name;
                for (var i = 0; i < file.Count; i++)
                    if (file.Read(i) is { IsTorn: false, AuditSession: { } found })
                    {
                        session = found;
                        break;
                    }
            }
            if (!sessions.TryGetValue(session, out var group))
            {
                sessions[session] = group = new SessionFiles(session, []);
                ordered.Add(group);
            }
            group.Files.Add(file);
        }
        return ordered;
    }

    void VerifySession(SessionState state)
    {
        var files = Order(state);
        state.Chain = AuditLog.ChainStart(_key, state.Files.Session);
        // Room for a chain value per line and an operation per two lines, at once rather than by doubling.
        var lineCount = files.Sum(f => f.Count);
        state.Reserve(lineCount);
        state.Operations.EnsureCapacity(lineCount / 2);
        for (var k = 0; k < files.Count; k++)
        {
            var file = files[k];
            state.OrderedFiles.Add(file.Name);
            var resumeAt = k + 1 < files.Count ? files[k + 1].First is { IsContinuation: true, ContinuesAfter: { } after } ? after : (long?)null : null;
            var first = 0;
            if (file.First is { IsContinuation: true } link)
            {
                Link(state, link, k == 0);
                first = 1;
            }

            if (ReadAhead)
                file.StartReadingAhead(first);
            try
            {
                VerifyLines(state, file, first, resumeAt);
            }
            finally
            {
                file.StopReadingAhead();
            }

            if (resumeAt is { } mustReach && state.Expected - 1 < mustReach)
                state.Add(AuditFindingKind.Removed, file.Name, null, state.Expected,
                    $"the file ends at sequence number {state.Expected - 1}, but the next file continues after {mustReach}: lines known durable are missing from its end");
        }

        foreach (var line in state.Unconfirmed)
        {
            if (!IsCopy(state, line))
                state.Add(AuditFindingKind.Altered, line, "it lies past the point the next file resumes from and is not a copy of the line verified there");
        }

        foreach (var (key, open) in state.Operations)
        {
            if (open.Begin is { } begin && open.Closings == 0)
            {
                var operation = key.Text;
                if (state.EndSequence > 0)
                    state.Add(AuditFindingKind.Unpaired, begin, $"operation {operation} began but has no Complete, Abandon or Fail, although the session ended cleanly");
                else
                    state.Add(AuditFindingKind.Interrupted, begin, $"operation {operation} ({begin.Category}/{begin.Operation}) began and never closed: the server stopped mid-operation");
            }
        }
    }

    void VerifyLines(SessionState state, FileLines lines, int first, long? resumeAt)
    {
        for (var i = first; i < lines.Count; i++)
        {
            var line = lines.Read(i);
            state.LineCount++;
            var pastResume = resumeAt is { } resume && state.Expected - 1 >= resume;
            if (line.IsTorn)
            {
                if (!pastResume)
                    state.Add(AuditFindingKind.Torn, line, "the line is not JSON: a write was cut short (a crash mid-write), or the file was cut here");
                continue;
            }
            if (line.IsContinuation)
            {
                state.Add(AuditFindingKind.Invalid, line, "a continuation line may only be the first line of a file");
                continue;
            }
            // Tested first and read after (not a pattern variable), so that a mutation run can change the condition.
            if (line.SequenceNumber is null || line.PrefixLength < 0 || !line.HasChain64)
            {
                if (!pastResume)
                    state.Add(AuditFindingKind.Invalid, line, line.SchemaProblem ?? "the line is not an audit event");
                continue;
            }
            var sequence = line.SequenceNumber.Value;
            if (pastResume)
            {
                // Never known durable there; the next file holds these lines, so they must be copies of them.
                state.Unconfirmed.Add(line);
                continue;
            }
            if (line.AuditSession != state.Files.Session)
            {
                state.Add(AuditFindingKind.Invalid, line, $"it belongs to session {line.AuditSession}, not {state.Files.Session}");
                continue;
            }
            if (line.SchemaProblem is { } problem)
                state.Add(AuditFindingKind.Invalid, line, problem);
            if (state.EndSequence > 0 && sequence > state.EndSequence)
                state.Add(AuditFindingKind.Invalid, line, "it follows the session's End line, which must be its last");

            if (sequence == state.Expected)
            {
                if (Follows(state.Chain, line))
                {
                    Accept(state, line);
                    continue;
                }
                var (next, _) = NextEvent(lines, i);
                if (next is not null && next.SequenceNumber == state.Expected && Follows(state.Chain, next))
                {
                    state.Add(AuditFindingKind.Inserted, line, "the line does not follow from the lines before it, and the next line does: it was inserted");
                    continue;
                }
                state.Add(AuditFindingKind.Altered, line, "its chain value does not follow from the lines before it: the line was altered");
                Accept(state, line);
            }
            else if (sequence < state.Expected)
            {
                if (IsCopy(state, line))
                {
                    state.Add(AuditFindingKind.Duplicate, line, $"an exact copy of the line with sequence number {sequence}");
                    continue;
                }
                state.Add(AuditFindingKind.Inserted, line, $"sequence number {sequence} came before, and this line is not a copy of it: it was inserted");
            }
            else
            {
                var (next, nextIndex) = NextEvent(lines, i);
                if (next is not null && next.SequenceNumber == state.Expected && Follows(state.Chain, next))
                {
                    if (sequence == state.Expected + 1 && Follows(ChainOf(next, _scratch), line))
                    {
                        state.Add(AuditFindingKind.OutOfOrder, line, $"the lines with sequence numbers {state.Expected} and {sequence} are in each other's place");
                        Accept(state, next);
                        Accept(state, line);
                        i = nextIndex;
                        state.LineCount++;
                        continue;
                    }
                    state.Add(AuditFindingKind.Inserted, line, "the line does not belong between the lines around it: it was inserted");
                    continue;
                }
                state.Add(AuditFindingKind.Removed, line, sequence - state.Expected == 1
                    ? $"the line with sequence number {state.Expected} is missing before it (removed)"
                    : $"the lines with sequence numbers {state.Expected} to {sequence - 1} are missing before it (removed)");
                Accept(state, line);
            }
        }
    }

    /// <summary>The session's files in the order their continuation links give.</summary>
    List<FileLines> Order(SessionState state)
    {
        var files = state.Files.Files;
        var firsts = files.Where(f => f.First is not { IsContinuation: true }).ToList();
        var ordered = new List<FileLines>();
        if (firsts.Count == 0)
        {
            var earliest = files.OrderBy(Generation).First();
            state.Add(AuditFindingKind.MissingFile, earliest.Name, 1, null,
                $"the session's first file is missing: this file continues from {earliest.First!.ContinuesFrom}, which was not given");
            ordered.Add(earliest);
        }
        else
        {
            foreach (var extra in firsts.Skip(1))
                state.Add(AuditFindingKind.Invalid, extra.Name, 1, null, $"both {firsts[0].Name} and this file claim to start the session");
            ordered.Add(firsts[0]);
        }
        var remaining = files.Except(ordered).Except(firsts).ToList();
        while (remaining.Count > 0)
        {
            var next = remaining.FirstOrDefault(f => f.First!.ContinuesFrom == ordered[^1].Name)
                       ?? remaining.OrderBy(Generation).First();
            if (next.First!.ContinuesFrom != ordered[^1].Name)
                state.Add(AuditFindingKind.MissingFile, next.Name, 1, null,
                    $"it continues from {next.First!.ContinuesFrom}, which was not given: a file of the session is missing");
            ordered.Add(next);
            remaining.Remove(next);
        }
        return ordered;
    }

    static int Generation(FileLines file) => FileAuditTarget.TryParseFileName(file.Name, out _, out var generation) ? generation : int.MaxValue;

    void Link(SessionState state, AuditLine link, bool isFirstFile)
    {
        if (link.AuditSession != state.Files.Session)
        {
            state.Add(AuditFindingKind.Invalid, link, $"the continuation belongs to session {link.AuditSession}, not {state.Files.Session}");
            return;
        }
        if (link.ContinuesAfter is not { } after)
        {
            state.Add(AuditFindingKind.Invalid, link, "the continuation does not say which sequence number it follows");
            return;
        }
        var named = link.ContinuesFromChain is { Length: 64 } hex ? Hex(hex) : null;
        if (isFirstFile)
        {
            // Its predecessor is missing (reported); carry on from what the link names.
            state.Chain = named ?? AuditLog.ChainStart(_key, state.Files.Session);
            state.Expected = after + 1;
            return;
        }
        var verified = state.ChainAt(after, _key);
        if (after > state.MaxSequence || verified is null || (named is null ? after != 0 : !CryptographicOperations.FixedTimeEquals(verified, named)))
        {
            if (after <= state.MaxSequence)
                state.Add(AuditFindingKind.Altered, link, $"its chain value is not the one verified at sequence number {after}: a line before it was altered or the link was forged");
            state.Chain = named ?? verified ?? state.Chain;
        }
        else
            state.Chain = verified;
        state.Expected = after + 1;
    }

    void Accept(SessionState state, AuditLine line)
    {
        var sequence = line.SequenceNumber!.Value;
        var chain = ChainOf(line, _scratch);
        state.Store(sequence, chain);
        state.SetChain(chain);
        state.Expected = sequence + 1;
        state.MaxSequence = Math.Max(state.MaxSequence, sequence);
        state.Verified++;
        Track(state, line);
    }

    static void Track(SessionState state, AuditLine line)
    {
        if (line.SequenceNumber == 1 && line.Category == AuditCatalogue.SessionStarted.Category && line.Operation == AuditCatalogue.SessionStarted.Operation)
            state.Start = line;
        if (line.Category == AuditCatalogue.SessionEnded.Category && line.Operation == AuditCatalogue.SessionEnded.Operation)
            state.EndSequence = line.SequenceNumber!.Value;
        if (!line.HasOperationId)
            return;
        ref var operation = ref CollectionsMarshal.GetValueRefOrAddDefault(state.Operations, OperationKey.Of(line), out _);
        switch (line.Event)
        {
            case "Begin":
                if (operation.HasBegin || operation.Closings > 0)
                    state.Add(AuditFindingKind.Unpaired, line, $"operation {line.OperationId} already has {(operation.HasBegin ? "a Begin" : "a closing event")}");
                if (!operation.HasBegin && operation.Closings == 0)
                    operation.Begin = line;
                operation.HasBegin = true;
                break;
            case "Complete" or "Abandon" or "Fail":
                if (!operation.HasBegin)
                    state.Add(AuditFindingKind.Unpaired, line, $"its operation {line.OperationId} has no Begin");
                else if (operation.Closings > 0)
                    state.Add(AuditFindingKind.Unpaired, line, $"operation {line.OperationId} was already closed");
                operation.Closings++;
                // Only a Begin never closed is reported at the end; a closed one need not be kept.
                operation.Begin = null;
                break;
            default:
                if (operation.Single)
                    state.Add(AuditFindingKind.Unpaired, line, $"operation {line.OperationId} already has its single event");
                operation.Single = true;
                break;
        }
    }

    bool IsCopy(SessionState state, AuditLine line)
    {
        var sequence = line.SequenceNumber!.Value;
        if (sequence > state.MaxSequence || state.ChainAt(sequence, _key) is not { } stored || state.ChainAt(sequence - 1, _key) is not { } before)
            return false;
        return CryptographicOperations.FixedTimeEquals(stored, ChainOf(line, _scratch)) && Follows(before, line);
    }

    static (AuditLine? Line, int Index) NextEvent(FileLines lines, int index)
    {
        for (var i = index + 1; i < lines.Count; i++)
            if (lines.Read(i) is { IsEvent: true, PrefixLength: >= 0, HasChain64: true } line)
                return (line, i);
        return (null, -1);
    }

    /// <summary>Whether the line's chain value is the HMAC of <paramref name="previous"/> and the line's own text.</summary>
    bool Follows(ReadOnlySpan<byte> previous, AuditLine line)
    {
        _hmac.AppendData(previous);
        _hmac.AppendData(line.Bytes.Span[..line.PrefixLength]);
        _hmac.GetHashAndReset(_computed);
        if (!line.TryGetChain(_presented))
            return false;
        return CryptographicOperations.FixedTimeEquals(_computed, _presented);
    }

    /// <summary>The line's chain value in <paramref name="buffer"/>, zeros when it is not hex (as <see cref="Hex"/> gives).</summary>
    static byte[] ChainOf(AuditLine line, byte[] buffer)
    {
        if (!line.TryGetChain(buffer))
            Array.Clear(buffer);
        return buffer;
    }

    static byte[] Hex(string hex)
    {
        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return new byte[32];
        }
    }

    /// <summary>The links between sessions (each first line names the one before), and the anchors when given.</summary>
    IEnumerable<AuditFinding> CheckLinks(List<SessionState> states, IReadOnlyList<AuditSessionAnchor>? anchors, IReadOnlyCollection<string>? directories)
    {
        var bySession = states.ToDictionary(s => s.Files.Session, StringComparer.Ordinal);
        var earliestStart = states.Select(s => s.Start?.Time ?? s.FirstTime).Where(t => t is not null).DefaultIfEmpty().Min();
        foreach (var state in states)
        {
            var session = state.Files.Session;
            var start = state.Start;
            if (start is null)
            {
                yield return new AuditFinding(AuditFindingKind.Unchecked, session, state.OrderedFiles.FirstOrDefault(), null, null,
                    "the session does not start with an Audit/SessionStart line, so its link to the session before it was not checked");
                continue;
            }
            var previous = start.PreviousAuditSession;
            if (previous is null)
                continue;
            if (bySession.TryGetValue(previous, out var before))
            {
                var named = start.PreviousSequenceNumber ?? 0;
                if (before.MaxSequence < named)
                    yield return new AuditFinding(AuditFindingKind.Truncated, previous, before.OrderedFiles.LastOrDefault(), null, before.MaxSequence + 1,
                        $"the session ends at sequence number {before.MaxSequence}, but session {session}'s first line says it reached {named}: lines were removed from its end, or its last file deleted");
                else if (named > 0 && (start.PreviousAuditChain is not { Length: 64 } chain || before.ChainAt(named, _key) is not { } verified
                                       || !CryptographicOperations.FixedTimeEquals(verified, Hex(chain))))
                    yield return new AuditFinding(AuditFindingKind.Altered, previous, before.OrderedFiles.LastOrDefault(), null, named,
                        $"the chain value session {session}'s first line names for this line is not the one verified here");
                else if (start.PreviousSessionEnded == true && (before.EndSequence != named || before.MaxSequence != named))
                    yield return new AuditFinding(AuditFindingKind.Truncated, previous, before.OrderedFiles.LastOrDefault(), null, named,
                        $"session {session}'s first line says this session ended cleanly at sequence number {named}, but its files end at {before.MaxSequence}{(before.EndSequence == 0 ? " without an End line" : "")}");
            }
            else if (earliestStart is { } earliest && (start.Time ?? DateTimeOffset.MaxValue) > earliest)
                yield return new AuditFinding(AuditFindingKind.MissingSession, previous, null, null, null,
                    $"session {session}'s first line names {previous} as the session before it, and no file of {previous} was given although older sessions were: the session was deleted");
            else if (anchors is null || !anchors.Any(a => a.AuditSession == previous))
                yield return new AuditFinding(AuditFindingKind.Unchecked, session, state.OrderedFiles.FirstOrDefault(), 1, 1,
                    $"the session before it, {previous}, was not given, so its end was not checked");
        }

        if (anchors is null)
        {
            yield return new AuditFinding(AuditFindingKind.Unchecked, null, null, null, null,
                "without the anchors from the database (--storage or --connection-string), lines removed from the end of the newest session, its deleted last file or a deleted newest session cannot be found");
            yield break;
        }

        var anchorOf = anchors.ToDictionary(a => a.AuditSession, StringComparer.Ordinal);
        foreach (var state in states)
        {
            var session = state.Files.Session;
            if (!anchorOf.TryGetValue(session, out var anchor))
            {
                yield return new AuditFinding(AuditFindingKind.Unchecked, session, state.OrderedFiles.FirstOrDefault(), null, null,
                    "the database holds no anchor for this session, so its end was not checked");
                continue;
            }
            if (state.MaxSequence < anchor.DurableSequence)
                yield return new AuditFinding(AuditFindingKind.Truncated, session, state.OrderedFiles.LastOrDefault(), null, state.MaxSequence + 1,
                    $"the files end at sequence number {state.MaxSequence}, but the anchor records {anchor.DurableSequence} as durable: lines were removed from the end, or the session's last file deleted");
            else if (anchor.DurableSequence > 0 && (anchor.DurableChain is not { Length: 64 } chain || state.ChainAt(anchor.DurableSequence, _key) is not { } verified
                                                    || !CryptographicOperations.FixedTimeEquals(verified, Hex(chain))))
                yield return new AuditFinding(AuditFindingKind.Altered, session, state.OrderedFiles.LastOrDefault(), null, anchor.DurableSequence,
                    "the anchor's chain value for this line is not the one verified in the files");
            else if (anchor.Ended is not null && (state.EndSequence != anchor.DurableSequence || state.MaxSequence != anchor.DurableSequence))
                yield return new AuditFinding(AuditFindingKind.Truncated, session, state.OrderedFiles.LastOrDefault(), null, anchor.DurableSequence,
                    $"the session ended cleanly at sequence number {anchor.DurableSequence}, but its files end at {state.MaxSequence}{(state.EndSequence == 0 ? " without the End line" : "")}");
        }

        // Every session the database records as written to a folder that was given must be there.
        var folders = (directories ?? []).Select(d => "file " + Path.TrimEndingDirectorySeparator(Path.GetFullPath(d))).ToHashSet(StringComparer.Ordinal);
        foreach (var anchor in anchors.Where(a => folders.Contains(a.Target) && !bySession.ContainsKey(a.AuditSession)))
            yield return new AuditFinding(AuditFindingKind.MissingSession, anchor.AuditSession, null, null, null,
                $"the database records audit session {anchor.AuditSession} (started {anchor.Started:u}, {anchor.DurableSequence} lines durable) in this folder, but none of its files is there: the session was deleted");
    }

    struct OperationState
    {
        /// <summary>The Begin, while the operation is open.</summary>
        public AuditLine? Begin;
        public bool HasBegin;
        public int Closings;
        public bool Single;
    }

    /// <summary>
    /// An <c>OperationId</c>: a GUID as the server writes it (36 lowercase characters) is kept as its 16 bytes, which
    /// maps such texts one to one; any other text as itself.
    /// </summary>
    internal readonly record struct OperationKey(Guid Id, string? Other)
    {
        static readonly SearchValues<char> Canonical = SearchValues.Create("0123456789abcdef-");

        public static OperationKey Of(AuditLine line) => line.TryGetOperationGuid(out var id) ? new(id, null) : Of(line.OperationId!);

        public static OperationKey Of(string text) =>
            text.Length == 36 && !text.AsSpan().ContainsAnyExcept(Canonical) && Guid.TryParseExact(text, "D", out var id) ? new(id, null) : new(default, text);

        public string Text => Other ?? Id.ToString("D");
    }

    /// <summary>One file's bytes and where its non-blank lines are; a line is read when it is needed.</summary>
    sealed class FileLines
    {
        readonly byte[] _bytes;
        readonly List<(int Number, int Start, int Length)> _lines = [];

        public FileLines(AuditFileBytes file)
        {
            Name = file.Name;
            _bytes = file.Bytes;
            var number = 0;
            foreach (var (start, length) in AuditLineReader.Lines(file.Bytes))
            {
                number++;
                if (length == 0 || file.Bytes.AsSpan(start, length).Trim(" \t\r"u8).Length == 0)
                    continue;
                _lines.Add((number, start, length));
            }
            First = _lines.Count > 0 ? Read(0) : null;
        }

        public string Name { get; }
        public int Count => _lines.Count;

        /// <summary>The first non-blank line, as read.</summary>
        public AuditLine? First { get; }

        BackgroundReader? _ahead;

        /// <summary>Starts a second thread reading this file's lines from <paramref name="from"/> on, ahead of <see cref="Read"/>.</summary>
        public void StartReadingAhead(int from)
        {
            if (from < Count)
                _ahead = new BackgroundReader(this, from);
        }

        public void StopReadingAhead()
        {
            _ahead?.Dispose();
            _ahead = null;
        }

        public int LinesReadAhead { get; private set; }

        public AuditLine Read(int index)
        {
            if (_ahead?.TryGet(index) is not { } line)
                return ReadHere(index);
            LinesReadAhead++;
            return line;
        }

        public AuditLine ReadHere(int index)
        {
            var (number, start, length) = _lines[index];
            var bytes = new ReadOnlyMemory<byte>(_bytes, start, length);
            var line = AuditLineReader.Read(Name, number, bytes.Span, full: false);
            line.Bytes = bytes;
            return line;
        }

        /// <summary>The first line that is an event, in the file's order.</summary>
        public AuditLine? FirstEvent()
        {
            for (var i = 0; i < Count; i++)
                if (Read(i) is { IsEvent: true } line)
                    return line;
            return null;
        }
    }

    /// <summary>
    /// Reads a file's lines on another thread, in batches handed over in order, while the verifying thread follows the
    /// chain. At most a few batches wait, so memory stays bounded whatever the file's size. A line the verifier asks
    /// for out of that order (it looks ahead past an anomaly, or back) it reads itself: reading a line gives the same
    /// result on any thread, so the findings do not depend on which thread read it.
    /// </summary>
    sealed class BackgroundReader : IDisposable
    {
        const int BatchLines = 256;
        const int WaitingBatches = 8;

        readonly BlockingCollection<AuditLine[]> _batches = new(WaitingBatches);
        readonly CancellationTokenSource _stop = new();
        readonly Task _reader;
        AuditLine[]? _previous;
        AuditLine[]? _current;
        int _previousStart;
        int _currentStart;
        int _nextStart;

        public BackgroundReader(FileLines file, int from)
        {
            _nextStart = from;
            _reader = Task.Factory.StartNew(() => Produce(file, from), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        void Produce(FileLines file, int from)
        {
            try
            {
                for (var start = from; start < file.Count; start += BatchLines)
                {
                    var batch = new AuditLine[Math.Min(BatchLines, file.Count - start)];
                    for (var i = 0; i < batch.Length; i++)
                        batch[i] = file.ReadHere(start + i);
                    _batches.Add(batch, _stop.Token);
                }
            }
            catch (Exception)
            {
                // Stopped, or a line that cannot be read: the verifying thread reads the rest itself and meets it there.
            }
            finally
            {
                _batches.CompleteAdding();
            }
        }

        /// <summary>The line at <paramref name="index"/> when this thread has read it, or null.</summary>
        public AuditLine? TryGet(int index)
        {
            while (index >= _nextStart)
            {
                if (!_batches.TryTake(out var batch, Timeout.Infinite))
                    return null;
                (_previous, _previousStart) = (_current, _currentStart);
                (_current, _currentStart) = (batch, _nextStart);
                _nextStart += batch.Length;
            }
            if (_current is not null && index >= _currentStart && index - _currentStart < _current.Length)
                return _current[index - _currentStart];
            if (_previous is not null && index >= _previousStart && index - _previousStart < _previous.Length)
                return _previous[index - _previousStart];
            return null;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _reader.Wait();
            _stop.Dispose();
            _batches.Dispose();
        }
    }

    sealed record SessionFiles(string Session, List<FileLines> Files);

    sealed class SessionState(SessionFiles files)
    {
        byte[] _chains = new byte[32 * 64];

        public SessionFiles Files { get; } = files;
        public List<string> OrderedFiles { get; } = [];
        public List<AuditFinding> Findings { get; } = [];
        public List<AuditLine> Unconfirmed { get; } = [];
        public Dictionary<OperationKey, OperationState> Operations { get; } = [];
        /// <summary>The chain value the next line must follow from.</summary>
        public byte[] Chain { get; set; } = [];

        /// <summary>Sets <see cref="Chain"/> to a copy of <paramref name="value"/>, in an array of its own that is reused.</summary>
        public void SetChain(ReadOnlySpan<byte> value)
        {
            if (Chain.Length != 32 || !ReferenceEquals(Chain, _head))
                Chain = _head;
            value.CopyTo(_head);
        }

        readonly byte[] _head = new byte[32];
        public long Expected { get; set; } = 1;
        public long MaxSequence { get; set; }
        public long EndSequence { get; set; }
        public long LineCount { get; set; }
        public long Verified { get; set; }
        public int? GoodBeforeFirstProblem { get; set; }
        public AuditLine? Start { get; set; }
        public DateTimeOffset? FirstTime => Files.Files.Select(f => f.FirstEvent()).FirstOrDefault(l => l is not null)?.Time;

        public void Reserve(int lines)
        {
            if (_chains.Length < (long)lines * 32)
                Array.Resize(ref _chains, checked(lines * 32));
        }

        public void Store(long sequence, ReadOnlySpan<byte> chain)
        {
            var at = checked((int)((sequence - 1) * 32));
            if (at + 32 > _chains.Length)
                Array.Resize(ref _chains, Math.Max(_chains.Length * 2, at + 32));
            chain.CopyTo(_chains.AsSpan(at));
            _stored = Math.Max(_stored, sequence);
        }

        long _stored;

        public byte[]? ChainAt(long sequence, byte[] key)
        {
            if (sequence == 0)
                return AuditLog.ChainStart(key, Files.Session);
            if (sequence < 0 || sequence > _stored)
                return null;
            var chain = _chains.AsSpan(checked((int)((sequence - 1) * 32)), 32);
            return chain.IndexOfAnyExcept((byte)0) < 0 ? null : chain.ToArray();
        }

        public void Add(AuditFindingKind kind, AuditLine line, string message) => Add(kind, line.File, line.LineNumber, line.SequenceNumber, message);

        public void Add(AuditFindingKind kind, string? file, int? line, long? sequence, string message)
        {
            var finding = new AuditFinding(kind, Files.Session, file, line, sequence, message);
            if (finding.IsTampering)
                GoodBeforeFirstProblem ??= (int)Verified;
            if (Findings.Count < MaximumFindingsPerSession)
                Findings.Add(finding);
        }
    }
}

/// <summary>The lines of one file, read.</summary>
public sealed record AuditFileLines2(string Name, List<AuditLine> Lines);

/// <summary>One session's files, in the order given.</summary>
public sealed record AuditSessionFiles(string Session, List<AuditFileLines2> Files);

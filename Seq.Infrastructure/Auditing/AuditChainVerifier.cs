using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Auditing;

/// <summary>The outcome of checking audit lines: intact, or the first line at which they are not, and why.</summary>
/// <param name="LinesVerified">Sequenced lines found intact, counting each sequence number once.</param>
public sealed record AuditChainVerification(bool IsIntact, int LinesVerified, string? Problem);

/// <summary>One file of an audit session, by its name (as a continuation line names it) and its lines.</summary>
public sealed record AuditFileLines(string Name, IEnumerable<string> Lines);

/// <summary>
/// Checks the tamper-evidence chain of one session's audit lines (ADR 0007): each line's <c>AuditChain</c> must be
/// the HMAC of the previous value and the line's own text, and sequence numbers must run 1, 2, 3 … in order. A
/// removed, altered, reordered or inserted line breaks the chain at that point.
/// <para>
/// A session may span several files (ADR 0009): after a failed fsync, the next file starts with an unsequenced
/// continuation line naming the file before, the last sequence number known durable there and its chain value. That
/// value must be the one verified in the earlier files, and the next line follows from it. What an abandoned file
/// holds after that point was never known durable and is written again in the next file, so it is not required to
/// be intact there.
/// </para>
/// </summary>
public static class AuditChainVerifier
{
    public const string ContinuesFromProperty = "ContinuesFrom";
    public const string ContinuesAfterProperty = "ContinuesAfter";
    public const string ContinuesFromChainProperty = "ContinuesFromAuditChain";

    static readonly byte[] Marker = Encoding.UTF8.GetBytes($",\"{AuditLog.ChainProperty}\":\"");

    /// <summary>One file that must hold its session from the start (the first or only file of a session).</summary>
    public static AuditChainVerification Verify(IEnumerable<string> lines, SecretKey secretKey) =>
        VerifySession([new AuditFileLines("", lines)], secretKey);

    /// <summary>
    /// Every file of one session, in any order: they are put in order by the continuation lines that link them, and
    /// verified as one chain.
    /// </summary>
    public static AuditChainVerification VerifySession(IReadOnlyList<AuditFileLines> files, SecretKey secretKey)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0)
            return new AuditChainVerification(true, 0, null);
        var key = secretKey.DeriveSubkey(SecretPurposes.AuditIntegrity);

        var opened = files
            .Select(f => (f.Name, Lines: f.Lines.ToList()))
            .Select(f => (f.Name, f.Lines, Link: ContinuationOf(f.Lines.FirstOrDefault(l => l.Length > 0))))
            .ToList();
        foreach (var file in opened)
        {
            if (file.Link is { Problem: { } problem })
                return new AuditChainVerification(false, 0, $"{Where(file.Name, 1)}: {problem}.");
        }

        var firsts = opened.Where(f => f.Link is null).ToList();
        if (firsts.Count == 0)
        {
            var continued = opened.First(f => f.Link is not null);
            return new AuditChainVerification(false, 0, $"{Where(continued.Name, 1)}: it continues the session from {continued.Link!.From}; verify it together with the files before it.");
        }
        if (firsts.Count > 1)
            return new AuditChainVerification(false, 0, $"{firsts.Count} files each claim to start the session ({string.Join(", ", firsts.Select(f => f.Name))}).");

        // The order follows the links; each file names the one it continues.
        var ordered = new List<(string Name, List<string> Lines, Continuation? Link)> { firsts[0] };
        var remaining = opened.Where(f => f.Link is not null).ToList();
        while (remaining.Count > 0)
        {
            var previous = ordered[^1].Name;
            var next = remaining.Where(f => f.Link!.From == previous).ToList();
            if (next.Count != 1)
            {
                var orphan = remaining[0];
                return new AuditChainVerification(false, 0, next.Count == 0
                    ? $"{Where(orphan.Name, 1)}: it continues the session from {orphan.Link!.From}, which is not among the files given after {previous}."
                    : $"{next.Count} files each claim to continue {previous}.");
            }
            ordered.Add(next[0]);
            remaining.Remove(next[0]);
        }

        var needed = ordered.Where(f => f.Link is not null).Select(f => f.Link!.After).ToHashSet();
        var chainsAt = new Dictionary<long, byte[]>();
        // Past the point the next file resumes from, a file's lines were not known durable and need not verify; but
        // one that reads as an audit event must be a copy of a line verified later, or an altered line would hide
        // behind a continuation (forged or real) that skips it.
        var verifiedLines = new HashSet<string>(StringComparer.Ordinal);
        var unconfirmed = new List<(string File, int Line, string Text)>();
        string? session = null;
        byte[]? chain = null;
        long verified = 0;

        for (var index = 0; index < ordered.Count; index++)
        {
            var (name, lines, link) = ordered[index];
            var isLast = index == ordered.Count - 1;
            var resumeAt = isLast ? (long?)null : ordered[index + 1].Link!.After;
            var expectedSequence = 1L;
            var lineNumber = 0;
            var skipContinuation = link is not null;

            if (link is not null)
            {
                // A link after 0 may follow a file of which nothing could be read (the lines lost with the failed
                // disk): the session is then the one the link names.
                if (session is null && link.After == 0)
                    session = link.Session;
                if (link.Session != session)
                    return Broken(name, 1, verified, $"it belongs to session {link.Session}, not {session}");
                if (link.After > verified)
                    return Broken(name, 1, verified, $"it continues after sequence number {link.After}, but only {verified} lines were verified before it");
                var expected = link.After == 0 ? AuditLog.ChainStart(key, session!) : chainsAt.GetValueOrDefault(link.After);
                if (expected is null || (link.Chain is null) != (link.After == 0)
                    || (link.Chain is not null && !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(expected)), Encoding.ASCII.GetBytes(link.Chain))))
                    return Broken(name, 1, verified, $"its chain value is not the one verified at sequence number {link.After} (a line before it was altered or the link was forged)");
                chain = expected;
                expectedSequence = link.After + 1;
            }

            foreach (var text in lines)
            {
                lineNumber++;
                if (text.Length == 0)
                    continue;
                if (skipContinuation)
                {
                    skipContinuation = false;
                    continue;
                }

                var problem = Check(text, key, ref session, ref chain, expectedSequence);
                if (problem is not null)
                {
                    // Beyond the point the next file resumes from, nothing was known durable: the next file has it.
                    if (resumeAt is { } resume && expectedSequence - 1 >= resume)
                    {
                        unconfirmed.AddRange(lines.Skip(lineNumber - 1).Select((t, i) => (name, lineNumber + i, t)).Where(l => IsAuditEvent(l.t)));
                        break;
                    }
                    return Broken(name, lineNumber, verified, problem);
                }
                verifiedLines.Add(text);
                if (needed.Contains(expectedSequence))
                    chainsAt[expectedSequence] = chain!;
                verified = Math.Max(verified, expectedSequence);
                expectedSequence++;
            }

            if (resumeAt is { } mustReach && expectedSequence - 1 < mustReach)
                return Broken(name, lineNumber + 1, verified, $"it ends at sequence number {expectedSequence - 1}, but the next file continues after {mustReach} (lines known durable are missing)");
        }
        foreach (var (file, line, text) in unconfirmed)
        {
            if (!verifiedLines.Contains(text))
                return Broken(file, line, verified,
                    "it lies past the point the next file resumes from and is not a copy of any line verified there (it was altered, or the continuation was forged)");
        }
        return new AuditChainVerification(true, (int)verified, null);
    }

    /// <summary>Whether a line reads as a sequenced audit event (a torn line or the zeros a failed disk left do not).</summary>
    static bool IsAuditEvent(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("SequenceNumber", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Checks one sequenced line and moves the chain on; a problem, or null when the line is intact.</summary>
    static string? Check(string text, byte[] key, ref string? session, ref byte[]? chain, long expectedSequence)
    {
        var line = Encoding.UTF8.GetBytes(text);
        var at = line.AsSpan().LastIndexOf(Marker);
        if (at < 0 || !line.AsSpan().EndsWith("\"}"u8))
            return "it carries no chain value";

        long sequence;
        string lineSession;
        try
        {
            using var document = JsonDocument.Parse(line);
            sequence = document.RootElement.GetProperty("SequenceNumber").GetInt64();
            lineSession = document.RootElement.GetProperty("AuditSession").GetString()!;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return "it is not an audit event";
        }

        if (session is null)
        {
            session = lineSession;
            chain = AuditLog.ChainStart(key, session);
        }
        if (lineSession != session)
            return $"it belongs to session {lineSession}, not {session}";
        if (sequence != expectedSequence)
            return $"its sequence number is {sequence} where {expectedSequence} was due";

        var next = AuditLog.NextChain(key, chain!, line.AsSpan(0, at));
        var presented = line.AsSpan(at + Marker.Length, line.Length - at - Marker.Length - 2);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(next)), presented))
            return "its chain value does not follow from the lines before it (a line was altered, removed, inserted or moved)";
        chain = next;
        return null;
    }

    sealed record Continuation(string Session, string From, long After, string? Chain, string? Problem = null);

    /// <summary>The link at the top of a continuation file, or null when the line is an ordinary (sequenced) one.</summary>
    static Continuation? ContinuationOf(string? text)
    {
        if (text is null)
            return null;
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(ContinuesFromProperty, out var from))
                return null;
            if (root.TryGetProperty("SequenceNumber", out _))
                return new Continuation("", "", 0, null, "a continuation line must not carry a sequence number");
            var after = root.GetProperty(ContinuesAfterProperty);
            var chain = root.GetProperty(ContinuesFromChainProperty);
            if (after.ValueKind != JsonValueKind.Number)
                return new Continuation("", "", 0, null, "the continuation does not say which sequence number it follows");
            return new Continuation(root.GetProperty("AuditSession").GetString()!, from.GetString()!, after.GetInt64(),
                chain.ValueKind == JsonValueKind.Null ? null : chain.GetString());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    static string Where(string file, int line) => file.Length == 0 ? $"Line {line}" : $"{file} line {line}";

    static AuditChainVerification Broken(string file, int line, long verified, string why) =>
        new(false, (int)verified, $"{Where(file, line)}: {why}.");
}

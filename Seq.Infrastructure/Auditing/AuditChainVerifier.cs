using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Auditing;

/// <summary>The outcome of checking an audit file: intact, or the first line at which it is not, and why.</summary>
public sealed record AuditChainVerification(bool IsIntact, int LinesVerified, string? Problem);

/// <summary>
/// Checks the tamper-evidence chain of one session's audit lines (ADR 0007): each line's <c>AuditChain</c> must be
/// the HMAC of the previous value and the line's own text, and sequence numbers must run 1, 2, 3 … in order. A
/// removed, altered, reordered or inserted line breaks the chain at that point.
/// </summary>
public static class AuditChainVerifier
{
    static readonly byte[] Marker = Encoding.UTF8.GetBytes($",\"{AuditLog.ChainProperty}\":\"");

    public static AuditChainVerification Verify(IEnumerable<string> lines, SecretKey secretKey)
    {
        var key = secretKey.DeriveSubkey(SecretPurposes.AuditIntegrity);
        byte[]? chain = null;
        string? session = null;
        var count = 0;
        foreach (var text in lines)
        {
            if (text.Length == 0)
                continue;
            count++;
            var line = Encoding.UTF8.GetBytes(text);
            var at = line.AsSpan().LastIndexOf(Marker);
            if (at < 0 || !line.AsSpan().EndsWith("\"}"u8))
                return Broken(count, "it carries no chain value");

            long sequence;
            string lineSession;
            try
            {
                using var document = JsonDocument.Parse(line);
                sequence = document.RootElement.GetProperty("SequenceNumber").GetInt64();
                lineSession = document.RootElement.GetProperty("AuditSession").GetString()!;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return Broken(count, "it is not an audit event");
            }

            if (session is null)
            {
                session = lineSession;
                chain = AuditLog.ChainStart(key, session);
            }
            if (lineSession != session)
                return Broken(count, $"it belongs to session {lineSession}, not {session}");
            if (sequence != count)
                return Broken(count, $"its sequence number is {sequence} where {count} was due");

            var expected = AuditLog.NextChain(key, chain!, line.AsSpan(0, at));
            var presented = line.AsSpan(at + Marker.Length, line.Length - at - Marker.Length - 2);
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(expected)), presented))
                return Broken(count, "its chain value does not follow from the lines before it (a line was altered, removed, inserted or moved)");
            chain = expected;
        }
        return new AuditChainVerification(true, count, null);
    }

    static AuditChainVerification Broken(int line, string why) => new(false, line - 1, $"Line {line}: {why}.");
}

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Security;

/// <summary>
/// The on-disk formats of ADR 0004 (key id, check value, <c>seqenc:</c> envelope) and ADR 0007 (the audit chain),
/// computed here from the ADRs with the BCL's primitives and pinned by values computed once outside .NET. None of the
/// project's derivation functions is called to get an expected value, so a constant changed in both the writer and
/// the reader (which every round-trip test would let through) fails here.
/// </summary>
public sealed class FormatKnownAnswerTests : IDisposable
{
    // The key 00 01 02 … 1f.
    const string KeyBase64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const string ExpectedKeyId = "e03df5a7";
    const string ExpectedCheckValue = "PXq+YaheEiNoBhzLodUAlRK8XjB5PDgc94gtNwTLbbk=";
    const string Session = "known-answer-session";

    // ADR 0004: HKDF-SHA256 with this fixed salt and the purpose as info; the check value is an HMAC over this label.
    static readonly byte[] Salt = Encoding.UTF8.GetBytes("seq/secret-key/hkdf-salt/v1");
    static readonly byte[] CheckLabel = Encoding.UTF8.GetBytes("seq/secret-key/check-value/v1");

    readonly string _directory = TestDirectories.NewPath("known-answer");

    static byte[] Key => Convert.FromBase64String(KeyBase64);

    static byte[] Hkdf(string purpose, int length) => HKDF.DeriveKey(HashAlgorithmName.SHA256, Key, length, Salt, Encoding.UTF8.GetBytes(purpose));

    [Fact]
    public void The_key_id_and_check_value_are_the_documented_hkdf_and_hmac_of_the_key()
    {
        Convert.ToHexStringLower(Hkdf("seq/key-id/v1", 4)).ShouldBe(ExpectedKeyId);
        Convert.ToBase64String(HMACSHA256.HashData(Hkdf("seq/key-check/v1", 32), CheckLabel)).ShouldBe(ExpectedCheckValue);

        var key = SecretKey.FromBase64(KeyBase64);
        key.KeyId.ShouldBe(ExpectedKeyId);
        key.CheckValue.ShouldBe(ExpectedCheckValue);
    }

    /// <summary>ADR 0007: c[0] = HMAC(K, "seq-audit-chain/v1/" ‖ session), c[n] = HMAC(K, c[n-1] (32 bytes) ‖ line n up to ,"AuditChain":).</summary>
    static List<string> ChainValues(string session, IEnumerable<string> prefixes)
    {
        var k = Hkdf("seq/audit-integrity/v1", 32);
        var chain = HMACSHA256.HashData(k, Encoding.UTF8.GetBytes("seq-audit-chain/v1/" + session));
        var values = new List<string>();
        foreach (var prefix in prefixes)
        {
            chain = HMACSHA256.HashData(k, (byte[])[.. chain, .. Encoding.UTF8.GetBytes(prefix)]);
            values.Add(Convert.ToHexStringLower(chain));
        }
        return values;
    }

    [Fact]
    public void Audit_lines_chained_by_the_documented_formula_have_the_known_values_and_verify()
    {
        string[] prefixes =
        [
            """{"@t":"2026-12-01T00:00:00.0000000Z","@mt":"Known answer {N}","N":1,"AuditSession":"known-answer-session","SequenceNumber":1""",
            """{"@t":"2026-12-01T00:00:01.0000000Z","@mt":"Known answer {N}","N":"zwei – ü","AuditSession":"known-answer-session","SequenceNumber":2""",
        ];
        var chain = ChainValues(Session, prefixes);
        chain.ShouldBe([
            "be04301907f2fc33116564e3340f860fe3f48e3f13c4d380b58895cf06b00da3",
            "7fd08fdbf5be5e075dd27b5497f226a80bbc00d2ac8eea1807fce698fd5cec75",
        ]);

        var lines = prefixes.Select((p, i) => $"{p},\"AuditChain\":\"{chain[i]}\"}}").ToList();
        AuditChainVerifier.Verify(lines, SecretKey.FromBase64(KeyBase64)).ShouldBe(new AuditChainVerification(true, 2, null));
    }

    [Fact]
    public async Task Every_line_the_audit_log_writes_carries_the_chain_value_the_documented_formula_gives()
    {
        var session = AuditSession.Start();
        var target = new FileAuditTarget(_directory, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance);
        await using (var log = new AuditLog(target, session, SecretKey.FromBase64(KeyBase64), TimeProvider.System))
        {
            for (var i = 0; i < 3; i++)
                await log.WriteAsync(new AuditEntry("Test", "KnownAnswer", AuditEventKind.Begin, Guid.NewGuid(), "Event {Number} ü", [new("Number", i)]),
                    Principal.Anonymous, null, CancellationToken.None);
        }

        var lines = File.ReadAllLines(Directory.GetFiles(_directory).Single(), Encoding.UTF8).Where(l => l.Length > 0).ToList();
        lines.Count.ShouldBe(3);
        const string marker = ",\"AuditChain\":\"";
        var prefixes = lines.Select(l => l[..l.LastIndexOf(marker, StringComparison.Ordinal)]).ToList();
        var written = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("AuditChain").GetString()!).ToList();
        lines.ShouldAllBe(l => l.EndsWith("\"}", StringComparison.Ordinal) && l.Substring(l.LastIndexOf(marker, StringComparison.Ordinal) + marker.Length).Length == 66);

        written.ShouldBe(ChainValues(session.Id, prefixes));
    }

    const string Purpose = "seq/stored-secrets/v1";
    const string Plaintext = "feed-password-ü";

    // Built outside .NET: version 1, key id e03df5a7, nonce a0 a1 … ab, AES-256-GCM under the purpose's subkey with
    // the version, key id and purpose as associated data.
    const string KnownEnvelope = "seqenc:AeA99aegoaKjpKWmp6ipqqtvjbKrlTuT0ZXCpU7YNH7dxTzjL2_hntAZbzj3ggoCug";

    static byte[] AssociatedData(ReadOnlySpan<byte> header, string purpose) => [.. header, .. Encoding.UTF8.GetBytes(purpose)];

    [Fact]
    public void A_seqenc_envelope_built_from_the_documented_format_has_the_known_text_and_opens()
    {
        byte[] header = [1, .. Convert.FromHexString(ExpectedKeyId)];
        var nonce = Enumerable.Range(0xa0, 12).Select(b => (byte)b).ToArray();
        var plaintext = Encoding.UTF8.GetBytes(Plaintext);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[16];
        using (var aes = new AesGcm(Hkdf(Purpose, 32), 16))
            aes.Encrypt(nonce, plaintext, ciphertext, tag, AssociatedData(header, Purpose));

        ("seqenc:" + Base64Url.EncodeToString([.. header, .. nonce, .. ciphertext, .. tag])).ShouldBe(KnownEnvelope);
        new AesGcmSecretProtector(SecretKey.FromBase64(KeyBase64)).Unprotect(KnownEnvelope, Purpose).ShouldBe(Plaintext);
    }

    [Fact]
    public void An_envelope_the_protector_makes_opens_by_the_documented_format()
    {
        var value = new AesGcmSecretProtector(SecretKey.FromBase64(KeyBase64)).Protect(Plaintext, Purpose);

        value.ShouldStartWith("seqenc:");
        value.ShouldNotContain("=");
        var envelope = Base64Url.DecodeFromChars(value.AsSpan("seqenc:".Length));
        var plaintextLength = Encoding.UTF8.GetByteCount(Plaintext);
        envelope.Length.ShouldBe(1 + 4 + 12 + plaintextLength + 16);
        envelope[0].ShouldBe((byte)1);
        Convert.ToHexStringLower(envelope.AsSpan(1, 4)).ShouldBe(ExpectedKeyId);

        var opened = new byte[plaintextLength];
        using (var aes = new AesGcm(Hkdf(Purpose, 32), 16))
            aes.Decrypt(envelope.AsSpan(5, 12), envelope.AsSpan(17, plaintextLength), envelope.AsSpan(17 + plaintextLength), opened,
                AssociatedData(envelope.AsSpan(0, 5), Purpose));
        Encoding.UTF8.GetString(opened).ShouldBe(Plaintext);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }
}

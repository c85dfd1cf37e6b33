using System.Buffers.Text;
using System.Text;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Security;

public sealed class AesGcmSecretProtectorTests
{
    const string Purpose = SecretPurposes.StoredSecrets;

    readonly SecretKey _key = SecretKey.Generate();
    readonly AesGcmSecretProtector _protector;

    public AesGcmSecretProtectorTests() => _protector = new AesGcmSecretProtector(_key);

    [Theory]
    [InlineData("")]
    [InlineData("hunter2")]
    [InlineData("pässwörd ✓ 日本語 🔑 \u0000 \r\n\t")]
    [InlineData("a long one: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore")]
    public void A_protected_value_unprotects_to_the_original(string plaintext)
    {
        var protectedValue = _protector.Protect(plaintext, Purpose);

        protectedValue.ShouldStartWith("seqenc:");
        if (plaintext.Length > 0)
            protectedValue.ShouldNotContain(plaintext);
        _protector.Unprotect(protectedValue, Purpose).ShouldBe(plaintext);
        new AesGcmSecretProtector(SecretKey.FromBase64(_key.ToBase64())).Unprotect(protectedValue, Purpose).ShouldBe(plaintext);
    }

    [Fact]
    public void Protecting_the_same_value_twice_gives_different_results()
    {
        var first = _protector.Protect("hunter2", Purpose);
        var second = _protector.Protect("hunter2", Purpose);

        second.ShouldNotBe(first);
        _protector.Unprotect(second, Purpose).ShouldBe("hunter2");
    }

    [Fact]
    public void The_envelope_is_a_version_byte_the_key_id_a_nonce_the_ciphertext_and_a_tag()
    {
        var protectedValue = _protector.Protect("abc", Purpose);

        protectedValue.ShouldNotContain("=");
        var envelope = Base64Url.DecodeFromChars(protectedValue.AsSpan("seqenc:".Length));
        envelope.Length.ShouldBe(1 + 4 + 12 + 3 + 16);
        envelope[0].ShouldBe((byte)1);
        Convert.ToHexStringLower(envelope.AsSpan(1, 4)).ShouldBe(_key.KeyId);
    }

    [Fact]
    public void Changing_any_byte_of_the_envelope_is_detected()
    {
        var envelope = Envelope(_protector.Protect("hunter2", Purpose));

        for (var position = 0; position < envelope.Length; position++)
        {
            foreach (var mask in new byte[] { 0x01, 0x80, 0xFF })
            {
                var altered = (byte[])envelope.Clone();
                altered[position] ^= mask;

                var refused = Should.Throw<SecretProtectionException>(
                    () => _protector.Unprotect(Text(altered), Purpose), $"byte {position} changed with mask {mask:x2}");
                refused.Message.ShouldNotContain("hunter2");
            }
        }
    }

    [Fact]
    public void A_value_cut_short_anywhere_is_detected()
    {
        var protectedValue = _protector.Protect("hunter2", Purpose);
        var envelope = Envelope(protectedValue);

        for (var length = 0; length < envelope.Length; length++)
            Should.Throw<SecretProtectionException>(() => _protector.Unprotect(Text(envelope[..length]), Purpose), $"cut to {length} bytes");
        for (var length = 0; length < protectedValue.Length; length++)
            Should.Throw<SecretProtectionException>(() => _protector.Unprotect(protectedValue[..length], Purpose), $"cut to {length} characters");
    }

    [Fact]
    public void A_change_of_a_header_byte_is_reported_for_what_it_is()
    {
        var envelope = Envelope(_protector.Protect("hunter2", Purpose));

        var newerVersion = (byte[])envelope.Clone();
        newerVersion[0] = 2;
        Should.Throw<SecretProtectionException>(() => _protector.Unprotect(Text(newerVersion), Purpose))
            .Message.ShouldContain("format version 2");

        var tail = (byte[])envelope.Clone();
        tail[^1] ^= 1;
        Should.Throw<SecretProtectionException>(() => _protector.Unprotect(Text(tail), Purpose))
            .Message.ShouldContain("was altered or is corrupt");
    }

    [Fact]
    public void A_value_protected_for_one_purpose_does_not_unprotect_for_another()
    {
        var protectedValue = _protector.Protect("hunter2", SecretPurposes.StoredSecrets);

        var refused = Should.Throw<SecretProtectionException>(() => _protector.Unprotect(protectedValue, SecretPurposes.HostConfiguration));

        refused.Message.ShouldContain("was altered or is corrupt");
        refused.Message.ShouldNotContain("hunter2");
    }

    [Fact]
    public void A_value_protected_under_another_key_is_refused_naming_both_key_ids()
    {
        var other = SecretKey.Generate();
        var protectedValue = new AesGcmSecretProtector(other).Protect("hunter2", Purpose);

        var refused = Should.Throw<SecretProtectionException>(() => _protector.Unprotect(protectedValue, Purpose));

        refused.Message.ShouldContain($"protected under another secret key (key id {other.KeyId})");
        refused.Message.ShouldContain(_key.KeyId);
        refused.Message.ShouldNotContain(other.ToBase64());
        refused.Message.ShouldNotContain(_key.ToBase64());
        refused.Message.ShouldNotContain("hunter2");
    }

    [Theory]
    [InlineData("hunter2")]
    [InlineData("seqenc:")]
    [InlineData("seqenc:not base64url!")]
    [InlineData("seqenc:AQIDBA")]
    [InlineData("SEQENC:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh")]
    public void Something_that_is_not_a_protected_value_is_refused_without_repeating_it(string value)
    {
        var refused = Should.Throw<SecretProtectionException>(() => _protector.Unprotect(value, Purpose));

        refused.Message.ShouldStartWith("The value is not a protected secret");
        refused.Message.ShouldNotContain(value);
    }

    [Fact]
    public void The_byte_form_has_the_same_envelope_as_the_text_form()
    {
        var plaintext = Encoding.UTF8.GetBytes("backup contents ✓");

        var envelope = AesGcmSecretProtector.ProtectBytes(_key, plaintext, SecretPurposes.HostConfiguration);

        AesGcmSecretProtector.UnprotectBytes(_key, envelope, SecretPurposes.HostConfiguration).ShouldBe(plaintext);
        _protector.Unprotect(Text(envelope), SecretPurposes.HostConfiguration).ShouldBe("backup contents ✓");
        Should.Throw<SecretProtectionException>(() => AesGcmSecretProtector.UnprotectBytes(_key, envelope, SecretPurposes.StoredSecrets));
        Should.Throw<SecretProtectionException>(() => AesGcmSecretProtector.UnprotectBytes(SecretKey.Generate(), envelope, SecretPurposes.HostConfiguration));
    }

    [Fact]
    public void The_purposes_that_derive_the_key_id_and_check_value_cannot_be_used_to_protect()
    {
        Should.Throw<ArgumentException>(() => _protector.Protect("x", SecretKey.KeyIdPurpose));
        Should.Throw<ArgumentException>(() => _protector.Protect("x", SecretKey.KeyCheckPurpose));
        Should.Throw<ArgumentException>(() => _protector.Protect("x", ""));
    }

    [Fact]
    public void A_value_that_is_not_valid_unicode_is_refused_rather_than_protected_as_something_else()
    {
        // A lone surrogate would otherwise be stored as U+FFFD: the secret read back would not be the one given.
        Should.Throw<EncoderFallbackException>(() => _protector.Protect("pass\ud800word", SecretPurposes.StoredSecrets));
        Should.Throw<EncoderFallbackException>(() => _protector.Protect("\udc00", SecretPurposes.StoredSecrets));
    }

    static byte[] Envelope(string protectedValue) => Base64Url.DecodeFromChars(protectedValue.AsSpan("seqenc:".Length));

    static string Text(byte[] envelope) => "seqenc:" + Base64Url.EncodeToString(envelope);
}

using Seq.Infrastructure.Security;

namespace Seq.Tests.Security;

public sealed class SecretKeyTests
{
    [Fact]
    public void A_generated_key_is_32_random_bytes()
    {
        var first = SecretKey.Generate();
        var second = SecretKey.Generate();

        Convert.FromBase64String(first.ToBase64()).Length.ShouldBe(32);
        second.ToBase64().ShouldNotBe(first.ToBase64());
        second.KeyId.ShouldNotBe(first.KeyId);
        second.Matches(first).ShouldBeFalse();
    }

    [Fact]
    public void A_key_survives_a_round_trip_through_base64_with_the_same_id_and_check_value()
    {
        var original = SecretKey.Generate();

        var parsed = SecretKey.FromBase64($"  {original.ToBase64()}\n");

        parsed.ToBase64().ShouldBe(original.ToBase64());
        parsed.Matches(original).ShouldBeTrue();
        parsed.KeyId.ShouldBe(original.KeyId);
        parsed.CheckValue.ShouldBe(original.CheckValue);
    }

    [Fact]
    public void The_key_id_is_eight_lower_case_hex_digits_that_do_not_reveal_the_key()
    {
        var key = SecretKey.Generate();
        var keyBytes = Convert.FromBase64String(key.ToBase64());

        key.KeyId.ShouldMatch("^[0-9a-f]{8}$");
        Convert.ToHexStringLower(keyBytes).ShouldNotContain(key.KeyId);
    }

    [Fact]
    public void Subkeys_are_32_bytes_stable_for_a_purpose_and_different_across_purposes_and_keys()
    {
        var key = SecretKey.Generate();
        var keyBytes = Convert.FromBase64String(key.ToBase64());

        var stored = key.DeriveSubkey("seq/stored-secrets/v1");
        var backups = key.DeriveSubkey("seq/backups/v1");

        stored.Length.ShouldBe(32);
        key.DeriveSubkey("seq/stored-secrets/v1").ShouldBe(stored);
        backups.ShouldNotBe(stored);
        stored.ShouldNotBe(keyBytes);
        SecretKey.Generate().DeriveSubkey("seq/stored-secrets/v1").ShouldNotBe(stored);
    }

    [Fact]
    public void The_check_value_differs_between_keys()
    {
        var key = SecretKey.Generate();

        SecretKey.FromBase64(key.ToBase64()).CheckValue.ShouldBe(key.CheckValue);
        SecretKey.Generate().CheckValue.ShouldNotBe(key.CheckValue);
        key.CheckValue.ShouldNotContain(key.ToBase64());
    }

    [Fact]
    public void ToString_names_the_key_by_its_id_and_never_prints_the_key()
    {
        var key = SecretKey.Generate();

        key.ToString().ShouldBe($"SecretKey({key.KeyId})");
        key.ToString().ShouldNotContain(key.ToBase64());
        $"{key}".ShouldNotContain(key.ToBase64());
    }

    public static TheoryData<string> NotKeys => new()
    {
        "",
        "   ",
        "this is not base64 at all!",
        Convert.ToBase64String(Bytes(16)),
        Convert.ToBase64String(Bytes(31)),
        Convert.ToBase64String(Bytes(33)),
        Convert.ToBase64String(Bytes(64)),
        Convert.ToBase64String(Bytes(32))[..43],
        Convert.ToHexString(Bytes(32)),
    };

    // Fixed bytes rather than random ones, so that the theory's cases have the same names in every run.
    static byte[] Bytes(int count) => [.. Enumerable.Range(1, count).Select(i => (byte)(i * 37))];

    [Theory]
    [MemberData(nameof(NotKeys))]
    public void A_value_that_is_not_32_bytes_of_base64_is_refused_without_repeating_it(string text)
    {
        var refused = Should.Throw<SecretKeyException>(() => SecretKey.FromBase64(text));

        refused.Message.ShouldBe("The secret key must be 32 bytes encoded in base64 (44 characters ending in '=', as printed by " +
            "`seqsvr show-key --generate`); the value given is not.");
        if (text.Trim().Length > 0)
            refused.Message.ShouldNotContain(text.Trim());
    }
}

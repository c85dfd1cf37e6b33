using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Cli;

public sealed class PasswordHasherTests
{
    readonly PasswordHasher _hasher = new();

    [Fact]
    public void A_hash_verifies_its_password_and_describes_its_parameters()
    {
        var hash = _hasher.Hash("s3cret-pässword");

        hash.ShouldStartWith("$pbkdf2-sha512$v=1$i=210000$");
        PasswordHasher.IsWellFormed(hash).ShouldBeTrue();
        _hasher.Verify("s3cret-pässword", hash).ShouldBe(PasswordVerification.Succeeded);
    }

    [Fact]
    public void A_wrong_password_fails()
    {
        var hash = _hasher.Hash("right");

        _hasher.Verify("wrong", hash).ShouldBe(PasswordVerification.Failed);
        _hasher.Verify("Right", hash).ShouldBe(PasswordVerification.Failed);
        _hasher.Verify("", hash).ShouldBe(PasswordVerification.Failed);
    }

    [Fact]
    public void A_hash_with_fewer_iterations_than_today_succeeds_but_asks_for_a_rehash()
    {
        var old = new PasswordHasher(iterations: 1_000).Hash("right");

        old.ShouldContain("$i=1000$");
        _hasher.Verify("right", old).ShouldBe(PasswordVerification.SucceededRehashNeeded);
        _hasher.Verify("wrong", old).ShouldBe(PasswordVerification.Failed);
    }

    [Fact]
    public void A_stored_hash_that_differs_from_the_derived_one_in_any_single_byte_fails()
    {
        var hasher = new PasswordHasher(iterations: 1_000);
        var parts = hasher.Hash("right").Split('$');
        var salt = Convert.FromBase64String(parts[4]);
        var hash = Convert.FromBase64String(parts[5]);
        hash.Length.ShouldBe(32);

        // Every position of the hash counts, the last bytes as much as the first; and so does every byte of the salt.
        var accepted = new List<string>();
        for (var i = 0; i < hash.Length; i++)
        {
            var altered = (byte[])hash.Clone();
            altered[i] ^= 0x01;
            if (hasher.Verify("right", string.Join('$', parts[..5]) + "$" + Convert.ToBase64String(altered)) != PasswordVerification.Failed)
                accepted.Add($"hash byte {i}");
        }
        for (var i = 0; i < salt.Length; i++)
        {
            var altered = (byte[])salt.Clone();
            altered[i] ^= 0x80;
            if (hasher.Verify("right", string.Join('$', parts[..4]) + "$" + Convert.ToBase64String(altered) + "$" + parts[5]) != PasswordVerification.Failed)
                accepted.Add($"salt byte {i}");
        }
        accepted.ShouldBeEmpty();

        // The iteration count is part of what is verified, not just a label.
        hasher.Verify("right", string.Join('$', parts.Select((p, i) => i == 3 ? "i=1001" : p))).ShouldBe(PasswordVerification.Failed);
        hasher.Verify("right", string.Join('$', parts)).ShouldBe(PasswordVerification.SucceededRehashNeeded);
    }

    [Fact]
    public void A_hash_computed_independently_from_the_documented_format_verifies()
    {
        // $pbkdf2-sha512$v=1$i=<n>$<salt>$<hash>: PBKDF2-HMAC-SHA512 over the UTF-8 password, 16-byte salt, 32-byte hash.
        var salt = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var hash = System.Security.Cryptography.Rfc2898DeriveBytes.Pbkdf2(
            System.Text.Encoding.UTF8.GetBytes("pässword"), salt, 210_000, System.Security.Cryptography.HashAlgorithmName.SHA512, 32);
        var encoded = $"$pbkdf2-sha512$v=1$i=210000${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";

        _hasher.Verify("pässword", encoded).ShouldBe(PasswordVerification.Succeeded);
        _hasher.Verify("passwörd", encoded).ShouldBe(PasswordVerification.Failed);
    }

    [Fact]
    public void Two_hashes_of_the_same_password_differ()
    {
        _hasher.Hash("same").ShouldNotBe(_hasher.Hash("same"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("hunter2")]
    [InlineData("$pbkdf2-sha256$v=1$i=210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=2$i=210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=0$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=-5$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=2147483647$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=210000$not base64!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=210000$AAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha512$v=1$i=210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$extra")]
    [InlineData("x$pbkdf2-sha512$v=1$i=210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$n=210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=0210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=10000001$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=210000$AAAAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha512$v=1$i=210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void A_malformed_hash_fails_without_throwing(string? encodedHash)
    {
        PasswordHasher.IsWellFormed(encodedHash).ShouldBeFalse();
        _hasher.Verify("anything", encodedHash!).ShouldBe(PasswordVerification.Failed);
    }

    [Fact]
    public void An_iteration_count_up_to_ten_million_is_well_formed_and_one_more_is_not()
    {
        // A stored hash is not trusted to be cheap: ten million is the most a login may be made to cost.
        const string salt = "AAAAAAAAAAAAAAAAAAAAAA==";
        const string hash = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        PasswordHasher.IsWellFormed($"$pbkdf2-sha512$v=1$i=10000000${salt}${hash}").ShouldBeTrue();
        PasswordHasher.IsWellFormed($"$pbkdf2-sha512$v=1$i=9999999${salt}${hash}").ShouldBeTrue();
        PasswordHasher.IsWellFormed($"$pbkdf2-sha512$v=1$i=1${salt}${hash}").ShouldBeTrue();
        PasswordHasher.IsWellFormed($"$pbkdf2-sha512$v=1$i=10000001${salt}${hash}").ShouldBeFalse();
        PasswordHasher.IsWellFormed($"$pbkdf2-sha512$v=1$i=100000000${salt}${hash}").ShouldBeFalse();
    }

    [Fact]
    public void A_hash_with_exactly_todays_iterations_does_not_ask_for_a_rehash_and_one_with_one_fewer_does()
    {
        var salt = new byte[16];
        string Encoded(int iterations) =>
            $"$pbkdf2-sha512$v=1$i={iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(System.Security.Cryptography.Rfc2898DeriveBytes.Pbkdf2(
                System.Text.Encoding.UTF8.GetBytes("right"), salt, iterations, System.Security.Cryptography.HashAlgorithmName.SHA512, 32))}";

        _hasher.Verify("right", Encoded(PasswordHasher.CurrentIterations)).ShouldBe(PasswordVerification.Succeeded);
        _hasher.Verify("right", Encoded(PasswordHasher.CurrentIterations - 1)).ShouldBe(PasswordVerification.SucceededRehashNeeded);
    }

    [Fact]
    public void The_dummy_verification_always_fails()
    {
        _hasher.VerifyDummy("anything").ShouldBe(PasswordVerification.Failed);
        _hasher.VerifyDummy("").ShouldBe(PasswordVerification.Failed);
    }
}

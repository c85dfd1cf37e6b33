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
    public void A_malformed_hash_fails_without_throwing(string? encodedHash)
    {
        PasswordHasher.IsWellFormed(encodedHash).ShouldBeFalse();
        _hasher.Verify("anything", encodedHash!).ShouldBe(PasswordVerification.Failed);
    }

    [Fact]
    public void The_dummy_verification_always_fails()
    {
        _hasher.VerifyDummy("anything").ShouldBe(PasswordVerification.Failed);
        _hasher.VerifyDummy("").ShouldBe(PasswordVerification.Failed);
    }
}

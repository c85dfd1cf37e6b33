using System.Security.Cryptography;
using System.Text;
using Seq.Application.ApiKeys;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Security;

/// <summary>
/// The API key token rules of ADR 0005 at their edges: which strings are a token at all (anything else is refused
/// without hashing), and the stored hash, HMAC-SHA256 under the secret key's api-key subkey over salt then token.
/// </summary>
public sealed class ApiKeyTokensTests
{
    readonly SecretKey _key = SecretKey.Generate();

    [Theory]
    [InlineData(20)]
    [InlineData(21)]
    [InlineData(24)]
    [InlineData(99)]
    [InlineData(100)]
    public void A_token_of_twenty_to_a_hundred_allowed_characters_is_well_formed(int length)
    {
        ApiKeyTokens.IsWellFormed(Token(length)).ShouldBeTrue();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(19)]
    [InlineData(101)]
    [InlineData(200)]
    public void A_token_shorter_than_twenty_or_longer_than_a_hundred_characters_is_not_well_formed(int length)
    {
        ApiKeyTokens.IsWellFormed(Token(length)).ShouldBeFalse();
    }

    [Fact]
    public void Letters_digits_and_the_four_unreserved_marks_are_allowed_and_nothing_else()
    {
        var good = Token(24);
        foreach (var c in "-_.~")
            ApiKeyTokens.IsWellFormed(c + good[1..]).ShouldBeTrue($"'{c}' is refused");

        // First, in the middle and last, so that the whole token is checked and not only its first character.
        foreach (var c in "+/= %&?#\"'\\\t\n\0éΩ")
        {
            ApiKeyTokens.IsWellFormed(c + good[1..]).ShouldBeFalse($"'{c}' first is accepted");
            ApiKeyTokens.IsWellFormed(good[..12] + c + good[13..]).ShouldBeFalse($"'{c}' in the middle is accepted");
            ApiKeyTokens.IsWellFormed(good[..^1] + c).ShouldBeFalse($"'{c}' last is accepted");
        }
    }

    [Fact]
    public void A_generated_token_is_24_letters_or_digits_with_its_prefix_and_a_16_byte_salt()
    {
        var tokens = new ApiKeyTokens(_key);

        var generated = tokens.Generate();

        generated.Token.ShouldMatch("^[0-9A-Za-z]{24}$");
        generated.Prefix.ShouldBe(generated.Token[..6]);
        generated.Salt.Length.ShouldBe(16);
        tokens.Generate().Token.ShouldNotBe(generated.Token);
        tokens.Generate().Salt.ShouldNotBe(generated.Salt);
    }

    [Fact]
    public void The_stored_hash_is_the_hmac_of_salt_then_token_under_the_api_key_subkey()
    {
        var tokens = new ApiKeyTokens(_key);
        var generated = tokens.Generate();
        var chosen = tokens.FromClient("my-ci-token.0123456789_abcdefghij~XYZ");

        generated.Hash.ShouldBe(Expected(generated.Token, generated.Salt));
        chosen.Hash.ShouldBe(Expected(chosen.Token, chosen.Salt));
        chosen.Prefix.ShouldBe("my-ci-");
        chosen.Salt.Length.ShouldBe(16);
        tokens.ComputeHash(chosen.Token, chosen.Salt).ShouldBe(chosen.Hash);

        // The longest token there is fits the buffer the hash is computed in.
        var longest = Token(ClientChosenTokens.MaximumLength);
        tokens.ComputeHash(longest, generated.Salt).ShouldBe(Expected(longest, generated.Salt));
    }

    [Fact]
    public void A_token_the_client_chose_that_is_not_well_formed_is_refused()
    {
        var tokens = new ApiKeyTokens(_key);

        Should.Throw<ArgumentException>(() => tokens.FromClient(Token(19))).Message
            .ShouldBe("The token does not have the shape of an API key token. (Parameter 'token')");
        Should.Throw<ArgumentException>(() => tokens.FromClient(Token(23) + "/"));
    }

    [Fact]
    public void A_token_matches_only_its_own_hash_under_its_own_salt_and_the_same_secret_key()
    {
        var tokens = new ApiKeyTokens(_key);
        var generated = tokens.Generate();

        tokens.Matches(generated.Token, generated.Salt, generated.Hash).ShouldBeTrue();
        new ApiKeyTokens(_key).Matches(generated.Token, generated.Salt, generated.Hash).ShouldBeTrue();

        new ApiKeyTokens(SecretKey.Generate()).Matches(generated.Token, generated.Salt, generated.Hash).ShouldBeFalse();
        tokens.Matches(generated.Token.AsSpan(0, 23), generated.Salt, generated.Hash).ShouldBeFalse();
        tokens.Matches(generated.Token + "0", generated.Salt, generated.Hash).ShouldBeFalse();
        for (var i = 0; i < generated.Hash.Length; i++)
        {
            var altered = (byte[])generated.Hash.Clone();
            altered[i] ^= 0x01;
            tokens.Matches(generated.Token, generated.Salt, altered).ShouldBeFalse($"hash byte {i} altered still matches");
        }
        for (var i = 0; i < generated.Salt.Length; i++)
        {
            var altered = (byte[])generated.Salt.Clone();
            altered[i] ^= 0x01;
            tokens.Matches(generated.Token, altered, generated.Hash).ShouldBeFalse($"salt byte {i} altered still matches");
        }
        tokens.Matches(generated.Token, generated.Salt, generated.Hash[..16]).ShouldBeFalse();
    }

    byte[] Expected(string token, byte[] salt)
    {
        var subkey = HKDF.DeriveKey(HashAlgorithmName.SHA256, Convert.FromBase64String(_key.ToBase64()), 32,
            Encoding.UTF8.GetBytes("seq/secret-key/hkdf-salt/v1"), Encoding.UTF8.GetBytes(SecretPurposes.ApiKeyTokens));
        return HMACSHA256.HashData(subkey, salt.Concat(Encoding.ASCII.GetBytes(token)).ToArray());
    }

    static string Token(int length) =>
        string.Concat(Enumerable.Range(0, length).Select(i => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[(i * 7 + 3) % 62]));
}

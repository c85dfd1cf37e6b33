using System.Security.Cryptography;
using System.Text;
using Seq.Application.ApiKeys;
using Seq.Application.Security;

namespace Seq.Infrastructure.Security;

/// <summary>
/// API key tokens: 24 characters from a 62-letter alphabet (about 142 bits), of which the first
/// <see cref="PrefixLength"/> are kept in clear as the lookup prefix. The stored hash is HMAC-SHA256 under a subkey
/// of the secret key over a per-key random salt and the token: a stolen database alone cannot be used to test
/// guesses, and with tokens this long no slow derivation is needed, so checking a key costs a microsecond.
/// A shared key may instead have a token its creator chose (<see cref="ClientChosenTokens"/>): stored the same way.
/// </summary>
public sealed class ApiKeyTokens(SecretKey secretKey) : IApiKeyTokens
{
    public const int TokenLength = 24;
    public const int PrefixLength = 6;
    public const int SaltLength = 16;

    const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    readonly byte[] _hashKey = secretKey.DeriveSubkey(SecretPurposes.ApiKeyTokens);

    public ApiKeyToken Generate()
    {
        var token = RandomNumberGenerator.GetString(Alphabet, TokenLength);
        var salt = RandomNumberGenerator.GetBytes(SaltLength);
        return new ApiKeyToken(token, token[..PrefixLength], salt, ComputeHash(token, salt));
    }

    public ApiKeyToken FromClient(string token)
    {
        if (!IsWellFormed(token))
            throw new ArgumentException("The token does not have the shape of an API key token.", nameof(token));
        var salt = RandomNumberGenerator.GetBytes(SaltLength);
        return new ApiKeyToken(token, token[..PrefixLength], salt, ComputeHash(token, salt));
    }

    /// <summary>Whether <paramref name="token"/> has the shape of a token (generated or chosen) at all; anything else is refused without hashing.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> token)
    {
        if (token.Length < ClientChosenTokens.MinimumLength && token.Length != TokenLength || token.Length > ClientChosenTokens.MaximumLength)
            return false;
        foreach (var c in token)
            if (!ClientChosenTokens.IsAllowedCharacter(c))
                return false;
        return true;
    }

    public byte[] ComputeHash(ReadOnlySpan<char> token, ReadOnlySpan<byte> salt)
    {
        Span<byte> input = stackalloc byte[SaltLength + ClientChosenTokens.MaximumLength];
        salt.CopyTo(input);
        var written = Encoding.ASCII.GetBytes(token, input[salt.Length..]);
        return HMACSHA256.HashData(_hashKey, input[..(salt.Length + written)]);
    }

    public bool Matches(ReadOnlySpan<char> token, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> storedHash)
    {
        Span<byte> input = stackalloc byte[SaltLength + ClientChosenTokens.MaximumLength];
        Span<byte> actual = stackalloc byte[HMACSHA256.HashSizeInBytes];
        salt.CopyTo(input);
        var written = Encoding.ASCII.GetBytes(token, input[salt.Length..]);
        HMACSHA256.HashData(_hashKey, input[..(salt.Length + written)], actual);
        return CryptographicOperations.FixedTimeEquals(actual, storedHash);
    }
}

using System.Security.Cryptography;
using System.Text;
using Seq.Application.Security;

namespace Seq.Infrastructure.Security;

/// <summary>
/// API key tokens: 24 characters from a 62-letter alphabet (about 142 bits), of which the first
/// <see cref="PrefixLength"/> are kept in clear as the lookup prefix. The stored hash is HMAC-SHA256 under a subkey
/// of the secret key over a per-key random salt and the token: a stolen database alone cannot be used to test
/// guesses, and with tokens this long no slow derivation is needed, so checking a key costs a microsecond.
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

    /// <summary>Whether <paramref name="token"/> has the shape of a token at all; anything else is refused without hashing.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> token)
    {
        if (token.Length != TokenLength)
            return false;
        foreach (var c in token)
            if (!char.IsAsciiLetterOrDigit(c))
                return false;
        return true;
    }

    public byte[] ComputeHash(ReadOnlySpan<char> token, ReadOnlySpan<byte> salt)
    {
        Span<byte> input = stackalloc byte[SaltLength + TokenLength];
        salt.CopyTo(input);
        var written = Encoding.ASCII.GetBytes(token, input[salt.Length..]);
        return HMACSHA256.HashData(_hashKey, input[..(salt.Length + written)]);
    }

    public bool Matches(ReadOnlySpan<char> token, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> storedHash)
    {
        Span<byte> input = stackalloc byte[SaltLength + TokenLength];
        Span<byte> actual = stackalloc byte[HMACSHA256.HashSizeInBytes];
        salt.CopyTo(input);
        var written = Encoding.ASCII.GetBytes(token, input[salt.Length..]);
        HMACSHA256.HashData(_hashKey, input[..(salt.Length + written)], actual);
        return CryptographicOperations.FixedTimeEquals(actual, storedHash);
    }
}

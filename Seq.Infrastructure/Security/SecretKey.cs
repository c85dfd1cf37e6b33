using System.Security.Cryptography;
using System.Text;

namespace Seq.Infrastructure.Security;

/// <summary>
/// The instance's AES-256 secret key. Everything that is encrypted or signed uses a subkey derived from it for one
/// purpose; the key itself is only ever shown by <c>seqsvr show-key</c>.
/// </summary>
public sealed class SecretKey
{
    public const int SizeInBytes = 32;

    /// <summary>HKDF info for the key id, so that the id is not a prefix of any key or subkey in use.</summary>
    public const string KeyIdPurpose = "seq/key-id/v1";

    /// <summary>HKDF info for the subkey behind <see cref="CheckValue"/>.</summary>
    public const string KeyCheckPurpose = "seq/key-check/v1";

    internal const int KeyIdSizeInBytes = 4;

    // A fixed salt is what RFC 5869 suggests when there is no per-use salt: it domain-separates this project's
    // derivations from any other use of the same key material.
    static readonly byte[] Salt = Encoding.UTF8.GetBytes("seq/secret-key/hkdf-salt/v1");
    static readonly byte[] CheckLabel = Encoding.UTF8.GetBytes("seq/secret-key/check-value/v1");

    readonly byte[] _key;
    readonly byte[] _keyId;

    SecretKey(byte[] key)
    {
        _key = key;
        _keyId = HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, KeyIdSizeInBytes, Salt, Encoding.UTF8.GetBytes(KeyIdPurpose));
        KeyId = Convert.ToHexStringLower(_keyId);

        var checkKey = DeriveSubkey(KeyCheckPurpose);
        try
        {
            CheckValue = Convert.ToBase64String(HMACSHA256.HashData(checkKey, CheckLabel));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(checkKey);
        }
    }

    /// <summary>Eight lower-case hex digits that name the key in messages and headers without revealing it.</summary>
    public string KeyId { get; }

    /// <summary>A keyed hash that proves, when stored, which key a storage was initialized with.</summary>
    public string CheckValue { get; }

    internal ReadOnlySpan<byte> KeyIdBytes => _keyId;

    public static SecretKey Generate() => new(RandomNumberGenerator.GetBytes(SizeInBytes));

    /// <exception cref="SecretKeyException">The text is not 32 bytes in base64. The message does not repeat the text.</exception>
    public static SecretKey FromBase64(string text)
    {
        ArgumentNullException.ThrowIfNull(text);

        // One byte more than a key needs, so that a longer value fails to fit instead of being cut short.
        var buffer = new byte[SizeInBytes + 1];
        if (!Convert.TryFromBase64String(text.Trim(), buffer, out var written) || written != SizeInBytes)
        {
            CryptographicOperations.ZeroMemory(buffer);
            throw new SecretKeyException(
                "The secret key must be 32 bytes encoded in base64 (44 characters ending in '=', as printed by " +
                "`seqsvr show-key --generate`); the value given is not.");
        }

        var key = buffer[..SizeInBytes];
        CryptographicOperations.ZeroMemory(buffer);
        return new SecretKey(key);
    }

    public string ToBase64() => Convert.ToBase64String(_key);

    /// <summary>A 32-byte key for one purpose (HKDF-SHA256 with the purpose as info). The caller should zero it when done.</summary>
    public byte[] DeriveSubkey(string purpose)
    {
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, SizeInBytes, Salt, Encoding.UTF8.GetBytes(purpose));
    }

    /// <summary>Whether <paramref name="other"/> is the same key, compared in constant time.</summary>
    public bool Matches(SecretKey other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return CryptographicOperations.FixedTimeEquals(_key, other._key);
    }

    public override string ToString() => $"SecretKey({KeyId})";
}

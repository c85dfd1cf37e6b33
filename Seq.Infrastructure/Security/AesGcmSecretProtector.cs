using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Seq.Application.Security;

namespace Seq.Infrastructure.Security;

/// <summary>
/// AES-256-GCM under a subkey of the secret key for each purpose. A protected value is <c>seqenc:</c> followed by the
/// base64url (unpadded) envelope <c>[version = 1][key id, 4 bytes][nonce, 12 bytes][ciphertext][tag, 16 bytes]</c>;
/// the version, key id and purpose are authenticated as associated data.
/// </summary>
public sealed class AesGcmSecretProtector(SecretKey key) : ISecretProtector
{
    public const string Prefix = "seqenc:";
    public const byte FormatVersion = 1;

    const int HeaderSize = 1 + SecretKey.KeyIdSizeInBytes;
    const int NonceSize = 12;
    const int TagSize = 16;
    const int Overhead = HeaderSize + NonceSize + TagSize;

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    readonly SecretKey _key = key ?? throw new ArgumentNullException(nameof(key));
    readonly ConcurrentDictionary<string, byte[]> _subkeys = new(StringComparer.Ordinal);

    public string Protect(string plaintext, string purpose)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        var bytes = StrictUtf8.GetBytes(plaintext);
        try
        {
            return Prefix + Base64Url.EncodeToString(Seal(_key, Subkey(purpose), bytes, purpose));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    public string Unprotect(string protectedValue, string purpose)
    {
        ArgumentNullException.ThrowIfNull(protectedValue);
        var subkey = Subkey(purpose);
        if (!protectedValue.StartsWith(Prefix, StringComparison.Ordinal))
            throw new SecretProtectionException($"The value is not a protected secret: it does not start with '{Prefix}'.");

        byte[] envelope;
        try
        {
            envelope = Base64Url.DecodeFromChars(protectedValue.AsSpan(Prefix.Length));
        }
        catch (FormatException)
        {
            throw new SecretProtectionException("The value is not a protected secret: what follows its prefix is not base64url.");
        }

        var bytes = Open(_key, subkey, envelope, purpose);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>The binary envelope of <paramref name="plaintext"/>, without the text prefix: for files such as backups.</summary>
    public static byte[] ProtectBytes(SecretKey key, ReadOnlySpan<byte> plaintext, string purpose)
    {
        ArgumentNullException.ThrowIfNull(key);
        var subkey = DeriveSubkey(key, purpose);
        try
        {
            return Seal(key, subkey, plaintext, purpose);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(subkey);
        }
    }

    /// <exception cref="SecretProtectionException">The envelope was altered, is malformed, or was made under another key or purpose.</exception>
    public static byte[] UnprotectBytes(SecretKey key, ReadOnlySpan<byte> envelope, string purpose)
    {
        ArgumentNullException.ThrowIfNull(key);
        var subkey = DeriveSubkey(key, purpose);
        try
        {
            return Open(key, subkey, envelope, purpose);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(subkey);
        }
    }

    byte[] Subkey(string purpose) => _subkeys.GetOrAdd(purpose, static (p, key) => DeriveSubkey(key, p), _key);

    static byte[] DeriveSubkey(SecretKey key, string purpose)
    {
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        // Those derive the key id and the check value, which are published: a subkey that shared them would be weakened.
        if (purpose is SecretKey.KeyIdPurpose or SecretKey.KeyCheckPurpose)
            throw new ArgumentException($"The purpose {purpose} is reserved for the secret key itself.", nameof(purpose));
        return key.DeriveSubkey(purpose);
    }

    static byte[] Seal(SecretKey key, byte[] subkey, ReadOnlySpan<byte> plaintext, string purpose)
    {
        var envelope = new byte[Overhead + plaintext.Length];
        var header = envelope.AsSpan(0, HeaderSize);
        header[0] = FormatVersion;
        key.KeyIdBytes.CopyTo(header[1..]);

        var nonce = envelope.AsSpan(HeaderSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        var ciphertext = envelope.AsSpan(HeaderSize + NonceSize, plaintext.Length);
        var tag = envelope.AsSpan(HeaderSize + NonceSize + plaintext.Length, TagSize);

        using var aes = new AesGcm(subkey, TagSize);
        aes.Encrypt(nonce, plaintext, ciphertext, tag, AssociatedData(header, purpose));
        return envelope;
    }

    static byte[] Open(SecretKey key, byte[] subkey, ReadOnlySpan<byte> envelope, string purpose)
    {
        if (envelope.Length < Overhead)
            throw new SecretProtectionException("The value is not a protected secret: it is too short.");

        var header = envelope[..HeaderSize];
        if (header[0] != FormatVersion)
            throw new SecretProtectionException($"The value was protected in format version {header[0]}, which this server does not know.");

        var keyId = header[1..];
        if (!keyId.SequenceEqual(key.KeyIdBytes))
            throw new SecretProtectionException(
                $"The value was protected under another secret key (key id {Convert.ToHexStringLower(keyId)}); this server's secret key is {key.KeyId}.");

        var nonce = envelope.Slice(HeaderSize, NonceSize);
        var ciphertext = envelope[(HeaderSize + NonceSize)..^TagSize];
        var tag = envelope[^TagSize..];
        var plaintext = new byte[ciphertext.Length];

        using var aes = new AesGcm(subkey, TagSize);
        try
        {
            aes.Decrypt(nonce, ciphertext, tag, plaintext, AssociatedData(header, purpose));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new SecretProtectionException(
                "The protected value was altered or is corrupt (or it was protected for another purpose), so it cannot be decrypted.");
        }
        return plaintext;
    }

    static byte[] AssociatedData(ReadOnlySpan<byte> header, string purpose)
    {
        var associatedData = new byte[header.Length + Encoding.UTF8.GetByteCount(purpose)];
        header.CopyTo(associatedData);
        Encoding.UTF8.GetBytes(purpose, associatedData.AsSpan(header.Length));
        return associatedData;
    }
}

namespace Seq.Application.Security;

/// <summary>
/// Authenticated encryption under the instance's secret key, with a separate subkey for each purpose, so that a
/// value protected for one purpose can never be unprotected as another.
/// </summary>
public interface ISecretProtector
{
    /// <summary>Encrypts <paramref name="plaintext"/>; the result is printable text carrying a format version and the key's id.</summary>
    string Protect(string plaintext, string purpose);

    /// <exception cref="SecretProtectionException">The value was altered, is malformed, or was protected under another key or purpose.</exception>
    string Unprotect(string protectedValue, string purpose);
}

/// <summary>The purposes a secret is protected for. Each one derives its own subkey.</summary>
public static class SecretPurposes
{
    /// <summary>Sensitive values kept in the metadata store, such as NuGet feed passwords.</summary>
    public const string StoredSecrets = "seq/stored-secrets/v1";

    /// <summary>Values written by <c>seqsvr secret set</c> into the host configuration file.</summary>
    public const string HostConfiguration = "seq/host-configuration/v1";

    /// <summary>The HMAC key under which API key tokens are hashed for storage.</summary>
    public const string ApiKeyTokens = "seq/api-key-tokens/v1";

    /// <summary>The HMAC key from which a session's CSRF token is derived.</summary>
    public const string SessionCsrf = "seq/session-csrf/v1";

    /// <summary>The HMAC key of the audit log's tamper-evidence chain.</summary>
    public const string AuditIntegrity = "seq/audit-integrity/v1";
}

/// <summary>A protected value could not be decrypted. The message never contains the value or the key.</summary>
public sealed class SecretProtectionException(string message) : Exception(message);

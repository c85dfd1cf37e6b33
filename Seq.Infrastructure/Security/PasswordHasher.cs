using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Seq.Application.Security;

namespace Seq.Infrastructure.Security;

/// <summary>
/// PBKDF2-HMAC-SHA512 password hashes in a self-describing, versioned text form:
/// <c>$pbkdf2-sha512$v=1$i=210000$&lt;salt base64&gt;$&lt;hash base64&gt;</c>.
/// </summary>
public sealed class PasswordHasher
{
    public const int CurrentIterations = 210_000;

    const string Algorithm = "pbkdf2-sha512";
    const int Version = 1;
    const int SaltBytes = 16;
    const int HashBytes = 32;

    // A stored hash is not trusted to be cheap: an absurd iteration count would turn every login into a denial of service.
    const int MaximumIterations = 10_000_000;

    static readonly byte[] DummySalt = RandomNumberGenerator.GetBytes(SaltBytes);
    static readonly byte[] DummyHash = RandomNumberGenerator.GetBytes(HashBytes);

    readonly int _iterations;

    public PasswordHasher() : this(CurrentIterations)
    {
    }

    internal PasswordHasher(int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(iterations, MaximumIterations);
        _iterations = iterations;
    }

    public string Hash(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Derive(password, salt, _iterations);
        return string.Create(CultureInfo.InvariantCulture,
            $"${Algorithm}$v={Version}$i={_iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Never throws for a malformed <paramref name="encodedHash"/>: it simply does not verify.</summary>
    public PasswordVerification Verify(string password, string encodedHash)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (!TryParse(encodedHash, out var iterations, out var salt, out var expected))
            return PasswordVerification.Failed;

        var actual = Derive(password, salt, iterations);
        if (!CryptographicOperations.FixedTimeEquals(actual, expected))
            return PasswordVerification.Failed;

        return iterations < CurrentIterations ? PasswordVerification.SucceededRehashNeeded : PasswordVerification.Succeeded;
    }

    /// <summary>
    /// Costs as much as a real verification and always fails, so that a login for an unknown user takes as long as
    /// one for a known user with a wrong password.
    /// </summary>
    public PasswordVerification VerifyDummy(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var actual = Derive(password, DummySalt, CurrentIterations);
        _ = CryptographicOperations.FixedTimeEquals(actual, DummyHash);
        return PasswordVerification.Failed;
    }

    public static bool IsWellFormed(string? encodedHash) => TryParse(encodedHash, out _, out _, out _);

    static byte[] Derive(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);

    static bool TryParse(string? encodedHash, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = [];
        hash = [];
        if (encodedHash is null || encodedHash.Length > 256)
            return false;

        var parts = encodedHash.Split('$');
        if (parts.Length != 6 || parts[0].Length != 0 || parts[1] != Algorithm || parts[2] != $"v={Version}")
            return false;

        if (!parts[3].StartsWith("i=", StringComparison.Ordinal) || !TryParseIterations(parts[3][2..], out iterations))
            return false;

        return TryDecode(parts[4], SaltBytes, out salt) && TryDecode(parts[5], HashBytes, out hash);
    }

    static bool TryParseIterations(string text, out int iterations)
    {
        iterations = 0;
        if (text.Length is 0 or > 8 || text[0] == '0' || !text.All(char.IsAsciiDigit))
            return false;
        iterations = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return iterations <= MaximumIterations;
    }

    static bool TryDecode(string base64, int length, out byte[] bytes)
    {
        bytes = new byte[length];
        return Convert.TryFromBase64String(base64, bytes, out var written) && written == length;
    }
}

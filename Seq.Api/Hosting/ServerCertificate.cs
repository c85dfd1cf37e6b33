using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Seq.Infrastructure.Configuration;

namespace Seq.Api.Hosting;

/// <summary>Loads the certificate for https:// addresses from a PEM (certificate and key) or a PFX file.</summary>
static class ServerCertificate
{
    /// <exception cref="HostConfigurationException">
    /// A file cannot be read, is neither PEM nor PFX, the password is wrong, or there is no private key. The message
    /// never holds the password.
    /// </exception>
    public static X509Certificate2 Load(string certificatePath, string? keyPath, string? password)
    {
        X509Certificate2 certificate;
        try
        {
            var isPem = File.ReadAllText(certificatePath).Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal);
            if (isPem)
            {
                certificate = string.IsNullOrEmpty(password)
                    ? X509Certificate2.CreateFromPemFile(certificatePath, keyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(certificatePath, password, keyPath);
            }
            else
            {
                if (keyPath is not null)
                    throw new HostConfigurationException($"api.certificateKeyPath is set, but {certificatePath} is not a PEM certificate: a PFX file holds its key itself; clear api.certificateKeyPath.");
                certificate = X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HostConfigurationException($"The certificate (api.certificatePath, api.certificateKeyPath) cannot be read: {e.Message}");
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new HostConfigurationException(
                $"The certificate {certificatePath} cannot be loaded: it must be a PEM certificate with its key (in the file or in api.certificateKeyPath) " +
                $"or a PFX file, and api.certificatePassword must be its password if it has one ({e.Message}).");
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new HostConfigurationException($"The certificate {certificatePath} has no private key: give the key in the file or in api.certificateKeyPath.");
        }
        return certificate;
    }
}

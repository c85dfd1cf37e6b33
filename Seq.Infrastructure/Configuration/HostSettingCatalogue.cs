using System.Globalization;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Configuration;

public enum HostSettingKind
{
    Text,

    /// <summary>An absolute <c>http</c> or <c>https</c> URI.</summary>
    Uri,

    /// <summary>A fully qualified file system path.</summary>
    Path,

    /// <summary>One or more absolute <c>http</c> or <c>https</c> URIs, separated by commas or semicolons.</summary>
    UriList,

    Integer,
    Boolean,

    /// <summary>A hash from <c>seqsvr config hash</c>.</summary>
    PasswordHash,

    /// <summary>IP addresses or CIDR networks (<c>10.0.0.0/8</c>), separated by commas.</summary>
    NetworkList,

    /// <summary>A PostgreSQL connection string, as Npgsql reads it.</summary>
    ConnectionString,

    /// <summary>A fully qualified path to a directory that exists or can be created (nothing on the way is a file).</summary>
    DirectoryPath,
}

/// <summary>
/// A setting of the host, as opposed to those kept in the metadata store: it is read from the environment or from
/// <c>Seq.json</c> under the storage root, and cannot be changed through the HTTP API.
/// </summary>
public sealed record HostSetting(string Section, string Name, HostSettingKind Kind, bool IsSecret, string Description)
{
    /// <summary>The canonical dotted key, such as <c>audit.auditPath</c>.</summary>
    public string Key => $"{Section}.{Name}";

    /// <summary>
    /// Kept in clear (it is needed to obtain the secret key itself) but may carry a credential, such as a vault
    /// token in the provider's arguments, so listings do not print it.
    /// </summary>
    public bool IsHiddenInListings => IsSecret || Key == "secretKey.providerArgs";

    /// <summary>The variable that overrides the setting, such as <c>SEQ_AUDIT_AUDITPATH</c>.</summary>
    public string EnvironmentVariable => "SEQ_" + Section.ToUpperInvariant() + "_" + Name.ToUpperInvariant();

    /// <summary>The value in canonical form, or a message saying why it is not acceptable. The message never repeats a secret value.</summary>
    public bool TryNormalize(string value, out string normalized, out string? problem)
    {
        normalized = value;
        problem = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            problem = $"{Key} cannot be empty; use `seqsvr config clear -k {Key}` to remove it.";
            return false;
        }

        switch (Kind)
        {
            case HostSettingKind.Text:
                return true;

            case HostSettingKind.Uri:
                if (!TryNormalizeUri(value.Trim(), out normalized, out var uriProblem))
                    problem = $"{Key} must be an absolute http or https URI: {Shown(value)} {uriProblem}";
                return problem is null;

            case HostSettingKind.UriList:
                var uris = value.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var normalizedUris = new List<string>();
                foreach (var uri in uris)
                {
                    if (!TryNormalizeUri(uri, out var one, out var oneProblem, allowWildcardHost: true))
                    {
                        problem = $"{Key} must be absolute http or https URIs separated by commas: {Shown(uri)} {oneProblem}";
                        return false;
                    }
                    normalizedUris.Add(one);
                }
                if (normalizedUris.Count == 0)
                {
                    problem = $"{Key} needs at least one URI.";
                    return false;
                }
                normalized = string.Join(",", normalizedUris);
                return true;

            case HostSettingKind.Path:
                normalized = value.Trim();
                if (normalized.Contains('\0', StringComparison.Ordinal) || !System.IO.Path.IsPathFullyQualified(normalized))
                    problem = $"{Key} must be a full path, not {Shown(value)}: a relative path would depend on the directory the server starts in.";
                return problem is null;

            case HostSettingKind.DirectoryPath:
                normalized = value.Trim();
                if (normalized.Contains('\0', StringComparison.Ordinal) || !System.IO.Path.IsPathFullyQualified(normalized))
                    problem = $"{Key} must be a full path, not {Shown(value)}: a relative path would depend on the directory the server starts in.";
                return problem is null;

            case HostSettingKind.ConnectionString:
                try
                {
                    var builder = new Npgsql.NpgsqlConnectionStringBuilder(value);
                    if (string.IsNullOrWhiteSpace(builder.Host))
                        problem = $"{Key} names no Host: give a PostgreSQL connection string such as Host=db;Database=seq;Username=seq;Password=….";
                }
                catch (Exception e) when (e is ArgumentException or KeyNotFoundException or FormatException or InvalidCastException or OverflowException)
                {
                    // Npgsql's message can quote part of the string, which may be the password.
                    problem = $"{Key} is not a PostgreSQL connection string: give one such as Host=db;Database=seq;Username=seq;Password=….";
                }
                return problem is null;

            case HostSettingKind.Integer:
                if (!long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
                    problem = $"{Key} must be a whole number, not {Shown(value)}.";
                else
                    normalized = number.ToString(CultureInfo.InvariantCulture);
                return problem is null;

            case HostSettingKind.Boolean:
                if (!bool.TryParse(value.Trim(), out var flag))
                    problem = $"{Key} must be true or false, not {Shown(value)}.";
                else
                    normalized = flag ? "true" : "false";
                return problem is null;

            case HostSettingKind.NetworkList:
                var networks = value.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                foreach (var network in networks)
                {
                    if (!System.Net.IPNetwork.TryParse(network.Contains('/') ? network : network + (network.Contains(':') ? "/128" : "/32"), out _))
                    {
                        problem = $"{Key} must be IP addresses or CIDR networks separated by commas, and {Shown(network)} is neither.";
                        return false;
                    }
                }
                normalized = string.Join(",", networks);
                return networks.Length > 0 || (problem = $"{Key} needs at least one address.") is null;

            case HostSettingKind.PasswordHash:
                normalized = value.Trim();
                if (!PasswordHasher.IsWellFormed(normalized))
                    problem = $"{Key} must be a hash printed by `seqsvr config hash`.";
                return problem is null;

            default:
                throw new ArgumentOutOfRangeException(nameof(Kind), Kind, null);
        }
    }

    /// <summary>
    /// What makes a well-formed value unusable on this machine, such as a directory setting that names a file. Kept
    /// apart from <see cref="TryNormalize"/> so that a file that no longer suits the machine can still be read and cleared.
    /// </summary>
    public string? ProblemOnThisMachine(string normalized)
    {
        if (Kind != HostSettingKind.DirectoryPath || NotADirectory(normalized) is not { } file)
            return null;
        return file == System.IO.Path.TrimEndingDirectorySeparator(normalized)
            ? $"{Key} must be a directory, but {file} is a file: give a directory (it is created if it does not exist)."
            : $"{Key} cannot be created at {normalized} because {file} is a file: give a directory whose parents are directories.";
    }

    /// <summary>The path itself, or the nearest existing ancestor, when it is something other than a directory.</summary>
    static string? NotADirectory(string path)
    {
        for (var current = System.IO.Path.TrimEndingDirectorySeparator(path); !string.IsNullOrEmpty(current); current = System.IO.Path.GetDirectoryName(current))
        {
            if (Directory.Exists(current))
                return null;
            if (File.Exists(current))
                return current;
        }
        return null;
    }

    string Shown(string value) => IsSecret ? "the value given" : $"'{value}'";

    static bool TryNormalizeUri(string text, out string normalized, out string problem, bool allowWildcardHost = false)
    {
        normalized = text;
        problem = "";

        // Kestrel listens on every address for the host "*" or "+", which System.Uri does not accept as a host name.
        var checkedText = text;
        if (allowWildcardHost)
        {
            foreach (var wildcard in new[] { "://*", "://+" })
            {
                var at = text.IndexOf(wildcard, StringComparison.Ordinal);
                if (at >= 0)
                    checkedText = text[..at] + "://localhost" + text[(at + wildcard.Length)..];
            }
        }

        if (!System.Uri.TryCreate(checkedText, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            problem = "is not one.";
            return false;
        }

        // Credentials in a URI would be printed by `config list` and logged wherever the URI is.
        if (uri.UserInfo.Length != 0)
        {
            problem = "carries credentials, which do not belong in a URI.";
            return false;
        }

        return true;
    }
}

/// <summary>Every host setting the server knows. A key that is not here is refused wherever it appears.</summary>
public static class HostSettingCatalogue
{
    public static IReadOnlyList<HostSetting> All { get; } =
    [
        new("api", "listenUris", HostSettingKind.UriList, false,
            "The URIs the server listens on, separated by commas (default http://localhost:5341)."),
        new("api", "trustedProxies", HostSettingKind.NetworkList, false,
            "Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto are believed: the client's address and HTTPS come from them."),
        new("api", "nodeName", HostSettingKind.Text, false,
            "This node's name, shown by /health and the diagnostics report when several nodes share one database; the machine name and the first listen port when empty."),
        new("api", "ingestionListenUris", HostSettingKind.UriList, false,
            "Further URIs that serve only event ingestion (POST /api/events/raw and /ingest/clef; everything else 404), such as an audit target's port for the servers it audits."),
        new("api", "certificatePath", HostSettingKind.Path, false,
            "The certificate for https:// addresses: a PEM file (with its key, or with api.certificateKeyPath) or a PFX/PKCS#12 file."),
        new("api", "certificateKeyPath", HostSettingKind.Path, false,
            "The PEM private key of api.certificatePath, when it is in a file of its own."),
        new("api", "certificatePassword", HostSettingKind.Text, true,
            "The password of the PFX file or of the encrypted PEM key."),
        new("storage", "connectionString", HostSettingKind.ConnectionString, true,
            "A PostgreSQL connection string; without one the server runs a private cluster under the storage root."),
        new("storage", "backupLocation", HostSettingKind.DirectoryPath, false,
            "The directory the daily encrypted backups (.seqbac) go to (default Backups/ under the storage root)."),
        new("audit", "auditPath", HostSettingKind.DirectoryPath, false,
            "A directory to write audit events to as newline-delimited JSON files."),
        new("audit", "auditServerUrl", HostSettingKind.Uri, false,
            "The Seq server that receives audit events."),
        new("audit", "auditServerApiKey", HostSettingKind.Text, true,
            "The API key used to send audit events to audit.auditServerUrl."),
        new("audit", "writeTimeoutSeconds", HostSettingKind.Integer, false,
            "How long a Begin or Record may take to reach the audit disk before its operation is refused with 503 (default 5)."),
        new("audit", "queueLimit", HostSettingKind.Integer, false,
            "How many audit lines may wait in memory for the audit target; beyond it, audited operations are refused with 503 (default 10000)."),
        new("audit", "minimumFreeSpaceMB", HostSettingKind.Integer, false,
            "Free megabytes kept on the audit disk: below it, audited operations are refused with 503 before the disk fills (default 64; 0 turns the check off)."),
        new("secretKey", "provider", HostSettingKind.Path, false,
            "A program that prints the secret key on its standard output, instead of keeping the key under the storage root."),
        new("secretKey", "providerArgs", HostSettingKind.Text, false,
            "Arguments passed to the secretKey.provider program."),
        new("firstRun", "adminUsername", HostSettingKind.Text, false,
            "The name of the administrator created at first start (default admin)."),
        new("firstRun", "adminPassword", HostSettingKind.Text, true,
            "The password of the administrator created at first start; without it (or adminPasswordHash) one is generated and printed once."),
        new("firstRun", "adminPasswordHash", HostSettingKind.PasswordHash, false,
            "The password hash of the administrator created at first start, from `seqsvr config hash`."),
        new("firstRun", "noAuthentication", HostSettingKind.Boolean, false,
            "Start without authentication at first start."),
        new("diagnostics", "seqServerUrl", HostSettingKind.Uri, false,
            "A Seq server that receives the server's own operational log (not the audit log); unset, nothing is sent anywhere."),
        new("diagnostics", "seqServerApiKey", HostSettingKind.Text, true,
            "The API key used to send the server's own log to diagnostics.seqServerUrl."),
        new("firstRun", "ingestApiKey", HostSettingKind.Text, true,
            "The token (20 to 100 letters, digits or - _ . ~, at least 16 different; as for a client-chosen token) of a shared Ingest-only API key created at first start, such as an audit target's key for the servers it audits."),
    ];

    public static bool TryFind(string key, out HostSetting setting)
    {
        setting = All.FirstOrDefault(s => string.Equals(s.Key, key?.Trim(), StringComparison.OrdinalIgnoreCase))!;
        return setting is not null;
    }

    /// <exception cref="HostConfigurationException">No setting has that key.</exception>
    public static HostSetting Find(string key) =>
        TryFind(key, out var setting)
            ? setting
            : throw new HostConfigurationException($"There is no setting '{key}'; `seqsvr config list` shows the settings there are.");

    public static HostSetting? FindByEnvironmentVariable(string name) =>
        All.FirstOrDefault(s => string.Equals(s.EnvironmentVariable, name, StringComparison.Ordinal));
}

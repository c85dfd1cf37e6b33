using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;

namespace Seq.Api.Hosting;

/// <summary>What a server instance needs from its host: where its data is, where it listens, its secret key, and how it is first set up.</summary>
public sealed record ServerOptions(string ConnectionString, IReadOnlyList<string> ListenUris, SecretKey SecretKey)
{
    public const string DefaultListenUri = "http://localhost:5341";

    public FirstRunOptions FirstRun { get; init; } = new();

    public RequestLimits Limits { get; init; } = RequestLimits.Default;

    public LoginThrottleOptions LoginThrottle { get; init; } = LoginThrottleOptions.Default;

    /// <summary>This node's name among several on one database; <see cref="ResolvedNodeName"/> when null.</summary>
    public string? NodeName { get; init; }

    /// <summary>The configured name, or the machine name and the first listen port (the process id when that port is chosen by the system).</summary>
    public string ResolvedNodeName =>
        NodeName ?? $"{Environment.MachineName}:{(ListenUris.Count > 0 && Uri.TryCreate(ListenUris[0].Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) && uri.Port > 0 ? uri.Port : Environment.ProcessId)}";

    /// <summary>Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto are believed.</summary>
    public IReadOnlyList<string> TrustedProxies { get; init; } = [];

    /// <summary>Addresses that serve only event ingestion (everything else answers 404 there), such as an audit target's port for the servers it audits.</summary>
    public IReadOnlyList<string> IngestionListenUris { get; init; } = [];

    /// <summary>The certificate served on https:// addresses (with its private key); null when there are none.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; init; }

    /// <summary>Where audit events go; from the host's environment or configuration file only, never the API.</summary>
    public AuditOptions Audit { get; init; } = AuditOptions.Disabled;

    /// <summary>Where backups are written (storage.backupLocation, by default Backups/ under the storage root); null makes none.</summary>
    public string? BackupLocation { get; init; }

    /// <summary>Adds to the server's services after its own (tests use it to observe the pipeline from inside).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Where the first start prints a generated administrator password (never to the log).</summary>
    public TextWriter Console { get; init; } = System.Console.Out;

    // The generated ToString would print the connection string, password included.
    public override string ToString() => $"ServerOptions {{ Node = {ResolvedNodeName}, ListenUris = {string.Join(", ", ListenUris)}, IngestionListenUris = {string.Join(", ", IngestionListenUris)}, Certificate = {Certificate?.Subject ?? "none"}, SecretKey = {SecretKey}, {FirstRun}, {Limits}, {Audit} }}";

    /// <summary>Reads <c>SEQ_API_LISTENURIS</c>: one or more URIs separated by commas or semicolons.</summary>
    public static IReadOnlyList<string> ListenUrisFrom(string? configured)
    {
        var uris = (configured ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return uris.Length == 0 ? [DefaultListenUri] : uris;
    }
}

/// <summary>
/// Bounds on what one client can make the server do: the size of a request body, and how many state-changing
/// requests one address may send (a token bucket refilled every second). Zero turns a rate limit off.
/// </summary>
public sealed record RequestLimits(long MaximumBodyBytes, int WritesPerSecondPerAddress, int WriteBurstPerAddress)
{
    public static readonly RequestLimits Default = new(1024 * 1024, 100, 400);
}

/// <summary>The audit target: a directory for files, or a Seq server (with the API key it ingests with), or neither.</summary>
public sealed record AuditOptions(string? Path, Uri? ServerUrl, string? ServerApiKey)
{
    public static readonly AuditOptions Disabled = new(null, null, null);

    /// <summary>The file target's limits: how long a blocking write may take, and the free space kept on its disk.</summary>
    public FileAuditTargetOptions File { get; init; } = FileAuditTargetOptions.Default;

    /// <summary>How much may wait in memory for the target before audited operations are refused.</summary>
    public AuditLogLimits Limits { get; init; } = AuditLogLimits.Default;

    public override string ToString() =>
        $"AuditOptions {{ Path = {Path}, ServerUrl = {ServerUrl}, ServerApiKey = {(ServerApiKey is null ? "none" : "(secret)")} }}";
}

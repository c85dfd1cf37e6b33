using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.Postgres;
using Seq.Infrastructure.Security;

namespace Seq.Api.Cli;

/// <summary>The instance a command works on: its storage root and host configuration, as the server would find them.</summary>
sealed class CliInstance
{
    readonly CliConsole _console;

    CliInstance(string storageRoot, HostConfiguration configuration, CliConsole console)
    {
        StorageRoot = storageRoot;
        Configuration = configuration;
        _console = console;
    }

    public string StorageRoot { get; }
    public HostConfiguration Configuration { get; }

    public static CliInstance Open(string? storageOption, CliConsole console)
    {
        var root = Infrastructure.Postgres.StorageRoot.Resolve(storageOption, console.GetEnvironmentVariable);
        return new CliInstance(root, HostConfiguration.Load(root, console.GetEnvironmentVariable), console);
    }

    /// <summary>
    /// Whether there is an instance's key to show: the key file the server's first start stores under the root, or
    /// a provider that is asked for it each time.
    /// </summary>
    public bool HasSecretKey =>
        File.Exists(Path.Combine(StorageRoot, SecretKeyLoader.KeyFileName))
        || SecretKeyOptions.FromSettings(Configuration.EnvironmentAndFile).ProviderPath is not null;

    /// <summary>The key the server would use, found the way the server finds it; like the server, creates one when the root has none.</summary>
    public Task<SecretKey> LoadSecretKeyAsync(CancellationToken cancellationToken) =>
        SecretKeyLoader.LoadAsync(
            StorageRoot, SecretKeyOptions.FromSettings(Configuration.EnvironmentAndFile), _console.CreateLogger(), cancellationToken);
}

using System.Globalization;
using System.Runtime.Versioning;
using System.Text;

namespace Seq.Infrastructure.Postgres;

// The socket directory and the settings file written at every start.
public sealed partial class EmbeddedPostgres
{
    [UnsupportedOSPlatform("windows")]
    async Task PrepareSocketDirectoryAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);

        // A directory under /tmp may have been made by someone else; taking it over without following links first
        // means nobody else can swap it for a link afterwards.
        if (RunningAsRoot)
            await ChownToPostgresAsync("-h", [directory], cancellationToken);
        if (new DirectoryInfo(directory).LinkTarget is not null)
            throw new EmbeddedPostgresException($"The socket directory {directory} is a symbolic link; remove it and start again.");

        try
        {
            File.SetUnixFileMode(directory, OwnerOnly);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new EmbeddedPostgresException($"The socket directory {directory} belongs to another user; remove it and start again.", e);
        }

        // The server is not running, so anything here is left over (or planted) and would only get in its way.
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo { LinkTarget: null } subdirectory)
                subdirectory.Delete(recursive: true);
            else
                entry.Delete();
        }
    }

    [UnsupportedOSPlatform("windows")]
    void WriteSettings()
    {
        var settings = new StringBuilder()
            .AppendLine("# Written by Seq at every start. To change a setting, use ALTER SYSTEM, which takes precedence.")
            .AppendLine("listen_addresses = ''")
            .AppendLine(CultureInfo.InvariantCulture, $"port = {DefaultPort}")
            .AppendLine(CultureInfo.InvariantCulture, $"unix_socket_directories = '{_paths.SocketDirectory.Replace("'", "''", StringComparison.Ordinal)}'")
            .AppendLine("unix_socket_permissions = 0700")
            .AppendLine("fsync = on")
            .AppendLine("synchronous_commit = on")
            .AppendLine("max_connections = 200")
            .AppendLine("shared_buffers = 128MB")
            .ToString();

        WritePrivateFile(Path.Combine(_paths.DataDirectory, ClusterPaths.SettingsFileName), settings);
    }
}

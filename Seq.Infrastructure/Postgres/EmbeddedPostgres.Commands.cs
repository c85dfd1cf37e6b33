using System.Runtime.Versioning;
using System.Text;
using Seq.Infrastructure.Storage;

namespace Seq.Infrastructure.Postgres;

// Running the PostgreSQL programs (as the postgres user when this process is root) and writing private files.
public sealed partial class EmbeddedPostgres
{
    [UnsupportedOSPlatform("windows")]
    static void WritePrivateFile(string path, string contents)
    {
        // Created with owner-only permissions from the start, so a secret is never readable by anyone else, even briefly;
        // and durably, with a failed fsync reported (ADR 0009), since a lost password file locks the server out of its cluster.
        try
        {
            DurableFile.Replace(path, OwnerReadWrite, file => file.Write(Encoding.UTF8.GetBytes(contents)));
        }
        catch (IOException e)
        {
            throw new EmbeddedPostgresException($"The PostgreSQL cluster's file {path} could not be written: {e.Message}", e);
        }
    }

    // "-R" for whole trees, "-h" for single entries so that a link is never followed.
    static Task ChownToPostgresAsync(string option, IReadOnlyList<string> paths, CancellationToken cancellationToken) =>
        RunCheckedAsync(Chown, [option, "--", $"{SuperUser}:", .. paths], cancellationToken);

    static async Task RunCheckedAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await RunAsync(fileName, arguments, cancellationToken);
        if (!result.Succeeded)
            throw new EmbeddedPostgresException($"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} failed (exit code {result.ExitCode}): {result.Diagnostics(null)}");
    }

    static Task<ProgramOutput> RunAsPostgresAsync(string binary, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        RunningAsRoot
            ? RunAsync(RunUser, ["-u", SuperUser, "--", binary, .. arguments], cancellationToken)
            : RunAsync(binary, arguments, cancellationToken);

    static Task<ProgramOutput> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ExternalProgram.RunAsync(fileName, arguments, cancellationToken);

    static string RunUser => FirstExisting("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser") ?? "runuser";

    static string Chown => FirstExisting("/usr/bin/chown", "/bin/chown") ?? "chown";

    static string? FirstExisting(params string[] paths) => paths.FirstOrDefault(File.Exists);
}

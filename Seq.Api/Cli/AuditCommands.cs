using System.CommandLine;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;

namespace Seq.Api.Cli;

static class AuditCommands
{
    public static Command Audit(Option<string?> storage, CliConsole console)
    {
        var file = new Option<FileInfo[]>("--file", "-f")
        {
            Description = "An audit file (seq-audit-YYYYMMDD-SESSION.ndjson); repeat it for more. The other files of the same session in the same directory (…-SESSION-2.ndjson and on) are verified with it.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var keyOnInput = new Option<bool>("--key-on-input")
        {
            Description = "Read the instance's secret key (base64) from standard input instead of from the instance under --storage.",
        };

        var verify = new Command("verify", "Check an audit session's tamper-evidence chain: every line present, unaltered and in order, across the session's files.")
        {
            storage,
            file,
            keyOnInput,
        };
        verify.SetAction((result, cancellationToken) => console.RunAsync(async () =>
        {
            var paths = result.GetValue(file)!.Select(f => f.FullName).ToList();
            foreach (var path in paths.Where(p => !File.Exists(p)))
                throw new CliException($"There is no audit file at {path}.");

            SecretKey key;
            if (result.GetValue(keyOnInput))
                key = SecretKey.FromBase64(console.ReadSecretLine("Secret key: ")?.Trim() ?? throw new CliException("No secret key was given on standard input."));
            else
            {
                var instance = CliInstance.Open(result.GetValue(storage), console);
                if (!instance.HasSecretKey)
                    throw new CliException(
                        $"There is no instance at {instance.StorageRoot} to take the secret key from: give its storage root with --storage, or the key with --key-on-input.");
                key = await instance.LoadSecretKeyAsync(cancellationToken);
            }

            var exitCode = 0;
            foreach (var session in Sessions(paths))
            {
                var shown = session.Count == 1 ? session[0] : $"{session[0]} (with {string.Join(", ", session.Skip(1).Select(Path.GetFileName))})";
                var verification = AuditChainVerifier.VerifySession(
                    [.. session.Select(p => new AuditFileLines(Path.GetFileName(p), File.ReadLines(p)))], key);
                if (!verification.IsIntact)
                {
                    await console.Error.WriteLineAsync($"{shown}: NOT intact after {verification.LinesVerified} good lines. {verification.Problem}");
                    exitCode = 2;
                    continue;
                }
                await console.Output.WriteLineAsync($"{shown}: intact, {verification.LinesVerified} lines.");
            }
            return exitCode;
        }));

        return new Command("audit", "Work with audit files.") { verify };
    }

    /// <summary>The given files grouped by session, each group completed with its session's other files beside them, first file first.</summary>
    static IEnumerable<List<string>> Sessions(IReadOnlyList<string> paths)
    {
        var groups = new List<List<string>>();
        var bySession = new Dictionary<(string Directory, string Session), List<string>>();
        foreach (var path in paths.Distinct(StringComparer.Ordinal))
        {
            if (!FileAuditTarget.TryParseFileName(path, out var session, out _))
            {
                groups.Add([path]);
                continue;
            }
            var directory = Path.GetDirectoryName(path)!;
            if (bySession.ContainsKey((directory, session)))
                continue;
            var files = Directory.GetFiles(directory, "seq-audit-*.ndjson")
                .Select(p => (Path: p, Parsed: FileAuditTarget.TryParseFileName(p, out var s, out var generation), Session: s, Generation: generation))
                .Where(f => f.Parsed && f.Session == session)
                .OrderBy(f => f.Generation)
                .Select(f => f.Path)
                .ToList();
            bySession[(directory, session)] = files;
            groups.Add(files);
        }
        return groups;
    }
}

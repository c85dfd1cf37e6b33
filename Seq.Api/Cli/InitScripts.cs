using System.Text;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.Storage;

namespace Seq.Api.Cli;

/// <summary>
/// The files in <c>Init/</c> under the storage root, run at start-up before the server serves, in name order. Every
/// line is a <c>seqsvr</c> command (blank lines and <c># comments</c> aside), split into arguments here and run
/// in-process, never by a shell. A script that succeeds moves to <c>Init/Completed/</c>, so it runs once; one that does
/// not stops start-up and stays where it is.
/// </summary>
static class InitScripts
{
    public const string FolderName = "Init";
    public const string CompletedFolderName = "Completed";

    /// <exception cref="HostConfigurationException">A script holds something other than seqsvr commands, or a command failed.</exception>
    public static async Task RunAsync(string storageRoot, Func<string[], CliContext, Task<int>> invoke, CliConsole console, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(storageRoot, FolderName);
        if (!Directory.Exists(folder))
            return;

        var scripts = Directory.EnumerateFiles(folder)
            .Where(path => !Path.GetFileName(path).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToList();
        foreach (var script in scripts)
        {
            var name = Path.GetFileName(script);
            // Every line is checked before the first one runs.
            var commands = Parse(script, name);
            foreach (var (line, args) in commands)
            {
                await console.Output.WriteLineAsync($"Init script {name}, line {line}: seqsvr {args[0]}");
                var exitCode = await invoke([.. args, "--storage", storageRoot], new CliContext(StorageRootHeld: true, RelativeTo: folder));
                if (exitCode != 0)
                    throw new HostConfigurationException(
                        $"Init script {script}, line {line} (seqsvr {args[0]}), failed with exit code {exitCode}, so the server did not start; fix or remove the script.");
            }
            MoveToCompleted(folder, script);
        }
    }

    static List<(int Line, string[] Args)> Parse(string script, string name)
    {
        var commands = new List<(int, string[])>();
        var lines = File.ReadAllLines(script);
        for (var i = 0; i < lines.Length; i++)
        {
            var text = lines[i].Trim();
            if (text.Length == 0 || text.StartsWith('#'))
                continue;
            // A line's words are never shown: a --secret-key may be among them.
            var words = Split(text) ?? throw Refused(script, i + 1, "has an unclosed quote");
            if (words[0] != "seqsvr")
                throw Refused(script, i + 1, "is not a seqsvr command (each line must start with `seqsvr`)");
            var args = words[1..];
            if (args.Length == 0 || args[0] is "run" || args[0].StartsWith('-'))
                throw Refused(script, i + 1, "would start a server; an init script runs commands such as `seqsvr restore -y --from-latest`");
            if (args.Any(a => a == "--storage" || a.StartsWith("--storage=", StringComparison.Ordinal)))
                throw Refused(script, i + 1, "names a --storage; an init script works on the storage root it is in");
            commands.Add((i + 1, args));
        }
        return commands;
    }

    static HostConfigurationException Refused(string script, int line, string why) =>
        new($"Init script {script}, line {line}, {why}, so the server did not start.");

    /// <summary>Words separated by white space; double or single quotes group, and nothing is expanded. Null for an unclosed quote.</summary>
    internal static string[]? Split(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        foreach (var c in line)
        {
            if (quote is not null)
            {
                if (c == quote)
                    quote = null;
                else
                    word.Append(c);
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                    words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        if (quote is not null)
            return null;
        if (inWord)
            words.Add(word.ToString());
        return [.. words];
    }

    static void MoveToCompleted(string folder, string script)
    {
        var completed = Path.Combine(folder, CompletedFolderName);
        Directory.CreateDirectory(completed);
        var target = Path.Combine(completed, Path.GetFileName(script));
        if (File.Exists(target))
            target = Path.Combine(completed, $"{Path.GetFileName(script)}.{DateTime.UtcNow:yyyyMMddHHmmss}");
        File.Move(script, target);
        DirectorySync.Flush(completed);
        DirectorySync.Flush(folder);
    }
}

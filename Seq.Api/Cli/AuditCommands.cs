using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Seq.Infrastructure;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Postgres;
using Seq.Infrastructure.Security;
using Seq.Infrastructure.Storage;

namespace Seq.Api.Cli;

static class AuditCommands
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Audit(Option<string?> storage, CliConsole console)
    {
        var verify = Verify(storage, console);
        var replay = Replay(storage, console);
        var export = AuditExportCommand.Export(storage, console);
        return new Command("audit", "Work with audit files.") { verify, replay, export };
    }

    static Argument<string[]> Paths() => new("PATH")
    {
        Description = "Audit files, or folders of seq-audit-*.ndjson files. A file brings the other files of its session beside it.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    static Command Verify(Option<string?> storage, CliConsole console)
    {
        var paths = Paths();
        var file = new Option<string[]>("--file", "-f")
        {
            Description = "An audit file, as PATH (kept for scripts written before PATH).",
            AllowMultipleArgumentsPerToken = true,
        };
        var keyOnInput = new Option<bool>("--key-on-input")
        {
            Description = "Read the instance's secret key (base64) from standard input instead of from the instance under --storage.",
        };
        var keyFile = new Option<FileInfo?>("--secret-key")
        {
            Description = "A file holding the instance's secret key (base64), instead of the instance under --storage.",
        };
        var connection = new Option<string?>("--connection-string")
        {
            Description = "The instance's PostgreSQL database, for the session anchors (default: the instance under --storage, when it has a database).",
        };
        var json = new Option<bool>("--json") { Description = "Write the result as JSON." };

        var command = new Command("verify", "Check audit files: schema, sequence, Begin/closing pairs, the tamper-evidence chain across files and sessions, and (with the database) that nothing is missing at the end.")
        {
            paths, file, storage, keyOnInput, keyFile, connection, json,
        };
        command.SetAction((result, cancellationToken) => console.RunAsync(async () =>
        {
            var files = Expand([.. result.GetValue(paths) ?? [], .. result.GetValue(file) ?? []]);
            var key = await KeyAsync(result.GetValue(storage), result.GetValue(keyOnInput), result.GetValue(keyFile), console, cancellationToken);
            var anchors = await AnchorsAsync(result.GetValue(storage), result.GetValue(connection), console, cancellationToken);
            var verification = new AuditTrailVerifier(key).Verify(files.Select(p => new AuditFileBytes(Path.GetFileName(p), File.ReadAllBytes(p))), anchors,
                [.. files.Select(Path.GetDirectoryName).OfType<string>().Distinct(StringComparer.Ordinal)]);

            if (result.GetValue(json))
            {
                await console.Output.WriteLineAsync(JsonSerializer.Serialize(new { verification.ExitCode, verification.Summary, verification.Sessions, verification.Findings }, Json));
                return verification.ExitCode;
            }
            await WriteAsync(verification, files, console);
            return verification.ExitCode;
        }));
        return command;
    }

    static async Task WriteAsync(AuditTrailVerification verification, IReadOnlyList<string> files, CliConsole console)
    {
        foreach (var session in verification.Sessions)
        {
            var first = files.FirstOrDefault(f => Path.GetFileName(f) == session.Files.FirstOrDefault()) ?? session.Files.FirstOrDefault() ?? session.AuditSession;
            var shown = session.Files.Count <= 1 ? first : $"{first} (with {string.Join(", ", session.Files.Skip(1))})";
            var ending = session.Ended ? "ended cleanly" : "no End line";
            if (session.Intact)
                await console.Output.WriteLineAsync($"{shown}: intact, {session.GoodLinesBeforeFirstProblem} lines ({ending}).");
            else
            {
                var problem = verification.Findings.First(f => f.IsTampering && f.AuditSession == session.AuditSession);
                await console.Error.WriteLineAsync($"{shown}: NOT intact after {session.GoodLinesBeforeFirstProblem} good lines. {problem}");
            }
        }
        foreach (var finding in verification.Findings.Where(f => f.Kind != AuditFindingKind.Unchecked))
            await (finding.IsTampering ? console.Error : console.Output).WriteLineAsync($"  {finding}");

        var s = verification.Summary;
        await console.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{s.Sessions} sessions, {s.Files} files, {s.Lines} lines, {s.Operations} operations, {s.Interrupted} interrupted, {s.Duplicates} duplicates, {s.Torn} torn."));
        foreach (var finding in verification.Findings.Where(f => f.Kind == AuditFindingKind.Unchecked))
            await console.Output.WriteLineAsync($"Not checked: {(finding.AuditSession is null ? "" : $"session {finding.AuditSession}: ")}{finding.Message}.");
        await console.Output.WriteLineAsync(verification.ExitCode switch
        {
            0 => "Result: everything checked holds.",
            3 => "Result: no tampering found, but the server stopped uncleanly (torn lines or interrupted operations).",
            _ => "Result: NOT intact: the audit trail was tampered with or lost lines.",
        });
    }

    /// <param name="storage">Accepted like every command's, though replay needs no instance.</param>
    static Command Replay(Option<string?> storage, CliConsole console)
    {
        var paths = Paths();
        var category = new Option<string?>("--category") { Description = "Only operations of this category (User, ApiKey …)." };
        var operation = new Option<string?>("--operation") { Description = "Only this operation (Create, LocalLogin …)." };
        var principal = new Option<string?>("--principal") { Description = "Only operations of this principal (as recorded)." };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Only operations that began at or after this time (UTC unless it says otherwise)." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "Only operations that began before this time." };
        var json = new Option<bool>("--json") { Description = "Write the timeline as JSON." };
        var command = new Command("replay", "Show the timeline of audit files: one row per operation, with who, what, how it ended, how long it took and where from. It does not verify them: run verify for that.")
        {
            paths, category, operation, principal, from, to, json, storage,
        };
        command.SetAction((result, cancellationToken) => console.RunAsync(async () =>
        {
            var files = Expand(result.GetValue(paths) ?? []);
            var rows = AuditReplay.Timeline(files.Select(p => new AuditFileBytes(Path.GetFileName(p), File.ReadAllBytes(p))),
                new AuditReplayFilter(result.GetValue(category), result.GetValue(operation), result.GetValue(principal),
                    Utc(result.GetValue(from)), Utc(result.GetValue(to))));
            if (result.GetValue(json))
            {
                await console.Output.WriteLineAsync(JsonSerializer.Serialize(rows, Json));
                return 0;
            }
            foreach (var row in rows)
            {
                var outcome = row.Reason is null ? row.Outcome : $"{row.Outcome} ({row.Reason})";
                var duration = row.DurationMilliseconds is { } ms ? string.Create(CultureInfo.InvariantCulture, $"{ms:0} ms") : "-";
                var http = row.HttpRequestMethod is null ? "-" : $"{row.HttpRequestMethod} {row.HttpRequestPath}";
                await console.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{row.Time:yyyy-MM-dd HH:mm:ss.fff}  {row.Principal} ({row.PrincipalType})  {row.Category}/{row.Operation}  {outcome}  {duration}  {http}  {row.RemoteIPAddress ?? "-"}"));
            }
            await console.Output.WriteLineAsync($"{rows.Count} operations.");
            return 0;
        }));
        return command;
    }

    static DateTimeOffset? Utc(DateTimeOffset? time) => time?.ToUniversalTime();

    /// <summary>Files as given, folders' seq-audit-*.ndjson files, and each file's session companions beside it; each once.</summary>
    internal static List<string> Expand(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0)
            throw new CliException("Give at least one audit file or folder.");
        var files = new List<string>();
        foreach (var path in paths.Select(Path.GetFullPath))
        {
            if (Directory.Exists(path))
                files.AddRange(Directory.GetFiles(path, "seq-audit-*.ndjson").Order(StringComparer.Ordinal));
            else if (File.Exists(path))
            {
                files.Add(path);
                if (FileAuditTarget.TryParseFileName(path, out var session, out _))
                    files.AddRange(Directory.GetFiles(Path.GetDirectoryName(path)!, "seq-audit-*.ndjson")
                        .Where(p => FileAuditTarget.TryParseFileName(p, out var s, out _) && s == session).Order(StringComparer.Ordinal));
            }
            else
                throw new CliException($"There is no audit file or folder at {path}.");
        }
        return [.. files.Distinct(StringComparer.Ordinal)];
    }

    static async Task<SecretKey> KeyAsync(string? storage, bool keyOnInput, FileInfo? keyFile, CliConsole console, CancellationToken cancellationToken)
    {
        if (keyOnInput)
            return SecretKey.FromBase64(console.ReadSecretLine("Secret key: ")?.Trim() ?? throw new CliException("No secret key was given on standard input."));
        if (keyFile is not null)
        {
            if (!keyFile.Exists)
                throw new CliException($"There is no secret key file at {keyFile.FullName}.");
            return SecretKey.FromBase64((await File.ReadAllTextAsync(keyFile.FullName, cancellationToken)).Trim());
        }
        var instance = CliInstance.Open(storage, console);
        if (!instance.HasSecretKey)
            throw new CliException(
                $"There is no instance at {instance.StorageRoot} to take the secret key from: give its storage root with --storage, the key with --key-on-input, or a key file with --secret-key.");
        return await instance.LoadSecretKeyAsync(cancellationToken);
    }

    /// <summary>The anchors from the instance's database, or null when there is none to ask.</summary>
    static async Task<IReadOnlyList<AuditSessionAnchor>?> AnchorsAsync(string? storage, string? connectionString, CliConsole console, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            var instance = CliInstance.Open(storage, console);
            connectionString = instance.Configuration.EnvironmentAndFile("SEQ_STORAGE_CONNECTIONSTRING");
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                if (!Directory.Exists(Path.Combine(instance.StorageRoot, "PostgreSQL", "data")))
                    return null;
                IDisposable rootLock;
                try
                {
                    rootLock = StorageRootLock.Acquire(instance.StorageRoot);
                }
                catch (StorageRootLockException)
                {
                    throw new CliException($"A server is running on {instance.StorageRoot}, so its private database cannot be opened here: stop it, or give --connection-string.");
                }
                using (rootLock)
                {
                    await using var cluster = await EmbeddedPostgres.StartAsync(instance.StorageRoot, console.CreateLogger(), cancellationToken);
                    return await ReadAnchorsAsync(cluster.ConnectionString, cancellationToken);
                }
            }
        }
        return await ReadAnchorsAsync(connectionString, cancellationToken);
    }

    static async Task<IReadOnlyList<AuditSessionAnchor>?> ReadAnchorsAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var dataSource = DependencyInjection.CreateDataSource(connectionString);
        try
        {
            return await AuditSessionAnchors.ReadAllAsync(dataSource, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return null;
        }
        catch (NpgsqlException e)
        {
            throw new CliException($"The database with the audit session anchors could not be read: {e.Message}");
        }
    }
}

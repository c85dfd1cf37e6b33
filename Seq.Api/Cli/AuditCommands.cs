using System.CommandLine;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;

namespace Seq.Api.Cli;

static class AuditCommands
{
    public static Command Audit(Option<string?> storage, CliConsole console)
    {
        var file = new Option<FileInfo>("--file", "-f") { Description = "An audit file (seq-audit-YYYYMMDD-SESSION.ndjson).", Required = true };
        var keyOnInput = new Option<bool>("--key-on-input")
        {
            Description = "Read the instance's secret key (base64) from standard input instead of from the instance under --storage.",
        };

        var verify = new Command("verify", "Check an audit file's tamper-evidence chain: every line present, unaltered and in order.")
        {
            storage,
            file,
            keyOnInput,
        };
        verify.SetAction((result, cancellationToken) => console.RunAsync(async () =>
        {
            var path = result.GetValue(file)!.FullName;
            if (!File.Exists(path))
                throw new CliException($"There is no audit file at {path}.");

            SecretKey key;
            if (result.GetValue(keyOnInput))
                key = SecretKey.FromBase64(console.ReadSecretLine("Secret key: ")?.Trim() ?? throw new CliException("No secret key was given on standard input."));
            else
                key = await CliInstance.Open(result.GetValue(storage), console).LoadSecretKeyAsync(cancellationToken);

            var verification = AuditChainVerifier.Verify(File.ReadLines(path), key);
            if (!verification.IsIntact)
            {
                await console.Error.WriteLineAsync($"{path}: NOT intact after {verification.LinesVerified} good lines. {verification.Problem}");
                return 2;
            }
            await console.Output.WriteLineAsync($"{path}: intact, {verification.LinesVerified} lines.");
            return 0;
        }));

        return new Command("audit", "Work with audit files.") { verify };
    }
}

using System.CommandLine;
using Seq.Infrastructure.Auditing;

namespace Seq.Api.Cli;

static class AuditExportCommand
{
    /// <param name="storage">Accepted like every command's, though export needs no instance.</param>
    public static Command Export(Option<string?> storage, CliConsole console)
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "Audit files, or folders of seq-audit-*.ndjson files.",
            Arity = ArgumentArity.OneOrMore,
        };
        var server = new Option<string>("--server") { Description = "The Seq-compatible server to send the events to (http or https).", Required = true };
        var apiKey = new Option<string?>("--apikey")
        {
            Description = "An API key with ingestion permission on that server (default: SEQ_EXPORT_APIKEY, so that it need not be on the command line).",
        };
        var command = new Command("export", "Send audit files to a Seq-compatible server's ingestion endpoint, idempotently: events the server already holds (by AuditSession and SequenceNumber) are not sent again.")
        {
            paths, server, apiKey, storage,
        };
        command.SetAction((result, cancellationToken) => console.RunAsync(async () =>
        {
            if (!Uri.TryCreate(result.GetValue(server), UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                throw new CliException("--server must be an absolute http or https URL.");
            var key = result.GetValue(apiKey) ?? console.GetEnvironmentVariable("SEQ_EXPORT_APIKEY");
            if (string.IsNullOrWhiteSpace(key) || key.Any(char.IsControl))
                throw new CliException("Give the server's API key with --apikey or SEQ_EXPORT_APIKEY.");
            var files = AuditCommands.Expand(result.GetValue(paths) ?? []);

            var builder = new UriBuilder(url) { Query = "", Fragment = "", UserName = "", Password = "" };
            if (!builder.Path.EndsWith('/'))
                builder.Path += "/";
            // No redirects: the key travels in a header that a redirect to another host would carry along.
            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = builder.Uri, Timeout = TimeSpan.FromSeconds(60) };
            try
            {
                var exported = await new AuditExporter(client, key).ExportAsync(
                    files.Select(p => new AuditFileBytes(Path.GetFileName(p), File.ReadAllBytes(p))), cancellationToken);
                foreach (var session in exported)
                    await console.Output.WriteLineAsync($"Session {session.AuditSession}: the server held up to sequence number {session.AlreadyHeld}; sent {session.Sent} events.");
                await console.Output.WriteLineAsync($"Sent {exported.Sum(s => s.Sent)} events of {exported.Count} sessions.");
                return 0;
            }
            catch (Exception e) when (e is AuditExportException or HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                await console.Error.WriteLineAsync($"The export stopped: {e.Message} Run it again: events already stored are not sent twice.");
                return 2;
            }
        }));
        return command;
    }
}

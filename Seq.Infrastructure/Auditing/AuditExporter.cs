using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Seq.Infrastructure.Auditing;

/// <summary>What one export did, per session: what the server held already and how many events were sent.</summary>
public sealed record AuditExportedSession(string AuditSession, long AlreadyHeld, int Sent);

/// <summary>The server refused or failed a request of the export.</summary>
public sealed class AuditExportException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Ships audit files to a Seq-compatible server as CLEF, idempotently (issue 15): for each session it first asks the
/// server for the highest <c>SequenceNumber</c> it holds, then sends only the events after it, in sequence order, so a
/// second run (or one after a failure) stores nothing twice. The lines go as written, chain value included.
/// </summary>
public sealed class AuditExporter(HttpClient client, string apiKey)
{
    const string ApiKeyHeader = "X-Seq-ApiKey";
    const string ClefContentType = "application/vnd.serilog.clef";
    public const int BatchLines = 500;

    public async Task<List<AuditExportedSession>> ExportAsync(IEnumerable<AuditFileBytes> files, CancellationToken cancellationToken)
    {
        var exported = new List<AuditExportedSession>();
        foreach (var session in AuditTrailVerifier.ReadSessions(files, full: false))
        {
            // Each event once, in sequence order: duplicates and lines written again after a failed fsync are the same events.
            var events = new SortedDictionary<long, AuditLine>();
            foreach (var line in session.Files.SelectMany(f => f.Lines))
                if (line.IsEvent && line.AuditSession == session.Session)
                    events.TryAdd(line.SequenceNumber!.Value, line);

            var held = await HighestSequenceAsync(session.Session, cancellationToken);
            var pending = events.Where(e => e.Key > held).Select(e => e.Value).ToList();
            for (var i = 0; i < pending.Count; i += BatchLines)
                await PostAsync(pending.Skip(i).Take(BatchLines), cancellationToken);
            exported.Add(new AuditExportedSession(session.Session, held, pending.Count));
        }
        return exported;
    }

    /// <summary>
    /// The highest sequence number of <paramref name="session"/> the server holds, 0 for none: a search for the
    /// session's events (newest first), of which the highest <c>SequenceNumber</c> counts.
    /// </summary>
    async Task<long> HighestSequenceAsync(string session, CancellationToken cancellationToken)
    {
        var filter = Uri.EscapeDataString($"AuditSession = '{session.Replace("'", "''", StringComparison.Ordinal)}'");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/events?filter={filter}&count=100");
        request.Headers.TryAddWithoutValidation(ApiKeyHeader, apiKey);
        using var response = await client.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new AuditExportException($"The server answered {(int)response.StatusCode} ({response.ReasonPhrase}) to the search for session {session}'s events.");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken));
        var highest = 0L;
        var root = document.RootElement;
        var events = root.ValueKind == JsonValueKind.Array ? root
            : root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Events", out var wrapped) ? wrapped : default;
        if (events.ValueKind != JsonValueKind.Array)
            throw new AuditExportException("The server's answer to the search is not a list of events.");
        foreach (var item in events.EnumerateArray())
        {
            // Sending again what the server may hold would store it twice: better to stop than to guess.
            if (SequenceOf(item) is not { } sequence)
                throw new AuditExportException($"The server answered events of session {session} without a SequenceNumber, so what it holds cannot be told.");
            highest = Math.Max(highest, sequence);
        }
        return highest;
    }

    /// <summary>The event's SequenceNumber, whether its properties come as a list of Name/Value pairs (Seq's API) or an object.</summary>
    static long? SequenceOf(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("Properties", out var properties))
            return null;
        if (properties.ValueKind == JsonValueKind.Array)
        {
            foreach (var property in properties.EnumerateArray())
                if (property.ValueKind == JsonValueKind.Object
                    && property.TryGetProperty("Name", out var name) && name.ValueKind == JsonValueKind.String && name.ValueEquals("SequenceNumber")
                    && property.TryGetProperty("Value", out var value))
                    return WholeNumber(value);
        }
        else if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty("SequenceNumber", out var value))
            return WholeNumber(value);
        return null;
    }

    /// <summary>A sequence number is a whole number that fits a long; anything else (1.5, 1e30, "7") tells nothing.</summary>
    static long? WholeNumber(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    async Task PostAsync(IEnumerable<AuditLine> lines, CancellationToken cancellationToken)
    {
        var body = new MemoryStream();
        foreach (var line in lines)
        {
            body.Write(line.Bytes.Span);
            body.WriteByte((byte)'\n');
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/events/raw");
        request.Headers.TryAddWithoutValidation(ApiKeyHeader, apiKey);
        request.Content = new ByteArrayContent(body.ToArray());
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(ClefContentType);
        using var response = await client.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            var detail = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new AuditExportException($"The server answered {(int)response.StatusCode} ({response.ReasonPhrase}) to a batch of audit events{(detail.Length is > 0 and < 500 ? $": {detail}" : "")}.");
        }
    }




}

using Microsoft.Extensions.Logging;

namespace Seq.Infrastructure.Auditing;

/// <param name="AttemptTimeout">How long one POST may take before it counts as failed.</param>
/// <param name="Retries">How many more POSTs a batch gets after the first fails, before its blocking lines fault.</param>
/// <param name="RetryDelay">The pause between those POSTs.</param>
public sealed record ServerAuditTargetOptions(TimeSpan AttemptTimeout, int Retries, TimeSpan RetryDelay)
{
    public static ServerAuditTargetOptions Default { get; } = new(TimeSpan.FromSeconds(5), 2, TimeSpan.FromMilliseconds(200));

    /// <summary>The first pause before the queue is tried again after a batch gave up; it doubles up to 5 s.</summary>
    internal TimeSpan InitialBackoff { get; init; } = OrderedAuditWriter.DefaultInitialBackoff;
}

/// <summary>
/// Sends audit lines as CLEF to a second Seq server's <c>/api/events/raw</c>; a blocking line's task completes
/// when the server has answered 201 for it and every line before it.
/// </summary>
public sealed class ServerAuditTarget : IAuditTarget
{
    readonly ServerAuditSink _sink;
    readonly OrderedAuditWriter _writer;

    public ServerAuditTarget(Uri serverUrl, string apiKey, ILogger<ServerAuditTarget> logger, HttpMessageHandler? handler = null, ServerAuditTargetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(serverUrl);
        ArgumentNullException.ThrowIfNull(logger);
        if (!serverUrl.IsAbsoluteUri || (serverUrl.Scheme != Uri.UriSchemeHttp && serverUrl.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException("The audit server URL must be an absolute http or https URL.", nameof(serverUrl));
        // The key itself stays out of every message, including this one.
        if (string.IsNullOrWhiteSpace(apiKey) || apiKey.Any(char.IsControl))
            throw new ArgumentException("The audit server API key must be non-empty and hold no control characters.", nameof(apiKey));

        options ??= ServerAuditTargetOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.AttemptTimeout, TimeSpan.FromMilliseconds(10), nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Retries, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RetryDelay, TimeSpan.Zero, nameof(options));

        Description = $"server {serverUrl.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped).TrimEnd('/')}";
        _sink = new ServerAuditSink(EventsEndpoint(serverUrl), apiKey, handler, options);
        _writer = new OrderedAuditWriter(_sink, Description, logger, options.InitialBackoff);
    }

    public string Description { get; }

    public AuditTargetState State => _writer.State;

    public string? Problem => _writer.Problem;

    public string? Refusal => null;

    public long QueuedLines => _writer.QueuedLines;

    public long DurableLines => _writer.DurableLines;

    public long QueuedBytes => _writer.QueuedBytes;

    public Task Enqueue(byte[] line, bool blocking) => _writer.Enqueue(line, blocking);

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    internal static Uri EventsEndpoint(Uri serverUrl)
    {
        var builder = new UriBuilder(serverUrl) { Query = "", Fragment = "", UserName = "", Password = "" };
        if (!builder.Path.EndsWith('/'))
            builder.Path += "/";
        return new Uri(builder.Uri, "api/events/raw");
    }
}

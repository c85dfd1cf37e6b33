using System.Net;
using System.Net.Http.Headers;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Seq.Infrastructure.Auditing;

/// <summary>POSTs one batch per write, retried a bounded number of times, each attempt under its own timeout.</summary>
sealed class ServerAuditSink : IAuditSink
{
    const string ApiKeyHeader = "X-Seq-ApiKey";
    const string ClefContentType = "application/vnd.serilog.clef";

    readonly Uri _endpoint;
    readonly string _apiKey;
    readonly HttpClient _client;
    readonly ResiliencePipeline _pipeline;

    public ServerAuditSink(Uri endpoint, string apiKey, HttpMessageHandler? handler, ServerAuditTargetOptions options)
    {
        _endpoint = endpoint;
        _apiKey = apiKey;
        // No redirects: the key travels in a custom header, which a redirect to another host would carry along.
        _client = handler is null
            ? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false }, disposeHandler: true)
            : new HttpClient(handler, disposeHandler: false);
        _client.Timeout = Timeout.InfiniteTimeSpan;

        var builder = new ResiliencePipelineBuilder();
        if (options.Retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.Retries,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                // Cancellation from outside means the target is closing; a per-attempt timeout arrives as
                // TimeoutRejectedException and is retried like any other failure.
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
            });
        }
        _pipeline = builder.AddTimeout(options.AttemptTimeout).Build();
    }

    public int MaxBatchLines => 500;

    public long MaxBatchBytes => 512 * 1024;

    public async Task WriteBatchAsync(IReadOnlyList<byte[]> lines, bool durable, CancellationToken cancellationToken)
    {
        var body = Join(lines);
        try
        {
            await _pipeline.ExecuteAsync(async token => await PostAsync(body, token), cancellationToken);
        }
        catch (TimeoutRejectedException exception)
        {
            throw new AuditTargetException($"The audit server did not answer within {exception.Timeout.TotalMilliseconds:0} ms.", exception);
        }
    }

    public Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    async Task PostAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint);
        request.Headers.TryAddWithoutValidation(ApiKeyHeader, _apiKey);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(ClefContentType);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
            throw new AuditTargetException($"The audit server answered {(int)response.StatusCode} ({response.ReasonPhrase}) instead of 201.");
    }

    static byte[] Join(IReadOnlyList<byte[]> lines)
    {
        var length = Math.Max(0, lines.Count - 1);
        foreach (var line in lines)
            length += line.Length;
        var buffer = new byte[length];
        var offset = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0)
                buffer[offset++] = (byte)'\n';
            lines[i].CopyTo(buffer, offset);
            offset += lines[i].Length;
        }
        return buffer;
    }
}

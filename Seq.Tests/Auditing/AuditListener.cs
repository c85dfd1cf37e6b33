using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Seq.Tests.Auditing;

enum ListenerAnswer
{
    Created,
    ServerError,
    Hang,
    /// <summary>307 to <see cref="AuditListener.RedirectTo"/>, which keeps the method, the body and any header.</summary>
    Redirect,
}

sealed record ReceivedPost(string Body, string? ApiKey, string? ContentType, int Status)
{
    public IReadOnlyList<string> Lines => Body.Split('\n');
}

/// <summary>A loopback stand-in for the audit server's ingestion endpoint, answering as the test tells it to.</summary>
sealed class AuditListener : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly ConcurrentQueue<ReceivedPost> _posts = new();
    readonly CancellationTokenSource _closing = new();
    volatile TaskCompletionSource? _gate;
    int _requests;

    AuditListener(WebApplication app) => _app = app;

    public ListenerAnswer Answer { get; set; } = ListenerAnswer.Created;

    public Uri Address { get; private set; } = null!;

    public Uri? RedirectTo { get; set; }

    public IReadOnlyList<ReceivedPost> Posts => [.. _posts];

    /// <summary>Every request that reached the endpoint, whatever it was answered.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public IReadOnlyList<string> AcceptedLines => [.. _posts.Where(p => p.Status == StatusCodes.Status201Created).SelectMany(p => p.Lines)];

    public static async Task<AuditListener> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var listener = new AuditListener(app);
        app.MapPost("/api/events/raw", listener.HandleAsync);
        await app.StartAsync();
        listener.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return listener;
    }

    /// <summary>Holds every request at the door until <see cref="Release"/>, after counting it.</summary>
    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate?.TrySetResult();

    async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _closing.Token);
        if (_gate is { } gate)
            await gate.Task.WaitAsync(linked.Token);

        var answer = Answer;
        if (answer == ListenerAnswer.Hang)
        {
            await Task.Delay(Timeout.Infinite, linked.Token);
            return;
        }
        var status = answer switch
        {
            ListenerAnswer.Created => StatusCodes.Status201Created,
            ListenerAnswer.Redirect => StatusCodes.Status307TemporaryRedirect,
            _ => StatusCodes.Status500InternalServerError,
        };
        _posts.Enqueue(new ReceivedPost(body, context.Request.Headers["X-Seq-ApiKey"], context.Request.ContentType, status));
        context.Response.StatusCode = status;
        if (answer == ListenerAnswer.Redirect)
            context.Response.Headers.Location = new Uri(RedirectTo!, "api/events/raw").ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _closing.Dispose();
    }
}

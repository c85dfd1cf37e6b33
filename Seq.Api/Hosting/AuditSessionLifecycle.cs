using Seq.Application.Auditing;
using Seq.Infrastructure.Auditing;

namespace Seq.Api.Hosting;

/// <summary>
/// The ends of an audit session (ADR 0007): before the server takes requests, the session's anchor row and its first
/// line (naming the session before it); while it runs, the anchor follows the newest durable line once a second;
/// after the server has stopped taking requests, the End line and the final anchor.
/// </summary>
sealed class AuditSessionLifecycle(AuditLog log, AuditSessionAnchors anchors, RefusalAudit refusals, TimeProvider clock, ILogger<AuditSessionLifecycle> logger)
    : IHostedLifecycleService
{
    static readonly TimeSpan AnchorInterval = TimeSpan.FromSeconds(1);

    readonly CancellationTokenSource _stopping = new();
    Task? _following;
    long _anchored = -1;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (!log.IsEnabled)
            return;
        var previous = await anchors.LatestAsync(cancellationToken);
        await anchors.StartAsync(new AuditSessionAnchor(log.Session.Id, previous?.AuditSession, log.TargetDescription!, clock.GetUtcNow(), 0, null, null), cancellationToken);
        try
        {
            await log.StartSessionAsync(previous?.AuditSession, previous?.DurableSequence ?? 0, previous?.DurableChain, previous?.Ended is not null, cancellationToken);
        }
        catch (AuditUnavailableException e)
        {
            // The line keeps its sequence number and is written once the target recovers; the server runs meanwhile.
            logger.LogWarning("The first line of audit session {AuditSession} is not durable yet: {Reason}", log.Session.Id, e.InnerException?.Message ?? e.Message);
        }
        _following = Task.Run(FollowAsync, CancellationToken.None);
    }

    async Task FollowAsync()
    {
        using var timer = new PeriodicTimer(AnchorInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
                await AnchorAsync(ended: false, _stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    async Task AnchorAsync(bool ended, CancellationToken cancellationToken)
    {
        var (sequence, chain) = log.DurableHead;
        if (sequence == _anchored && !ended)
            return;
        try
        {
            await anchors.AdvanceAsync(log.Session.Id, sequence, chain, ended, cancellationToken);
            _anchored = sequence;
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            logger.LogWarning("The anchor of audit session {AuditSession} could not be recorded: {Reason}", log.Session.Id, e.Message);
        }
    }

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (_following is null)
            return;
        await _stopping.CancelAsync();
        await _following;
        // The counts of refusals still open belong to this session, before its End.
        await refusals.DisposeAsync();
        try
        {
            await log.EndAsync(cancellationToken);
        }
        catch (Exception e) when (e is AuditTargetException or OperationCanceledException or TimeoutException)
        {
            logger.LogWarning("The End line of audit session {AuditSession} could not be made durable: {Reason}", log.Session.Id, e.Message);
        }
        await AnchorAsync(ended: log.DurableHead.Sequence > 0 && EndIsDurable(), CancellationToken.None);
    }

    // The anchor claims a clean end only when the End line itself is among the durable lines.
    bool EndIsDurable() => log.EndIsDurable;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

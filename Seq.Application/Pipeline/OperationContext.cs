using Seq.Application.Security;

namespace Seq.Application.Pipeline;

/// <summary>
/// What is known about the operation in progress (one per request scope); it is written into the metadata
/// of every event the operation appends, so that each change can be traced to who asked for it and why.
/// </summary>
public sealed class OperationContext
{
    public string CorrelationId { get; set; } = Guid.NewGuid().ToString("N");
    public string? CausationId { get; set; }

    /// <summary>Who asked; anonymous until authentication says otherwise, so a forgotten assignment denies rather than allows.</summary>
    public Principal Principal { get; set; } = Principal.Anonymous;

    public string? AuditOperationId { get; set; }

    /// <summary>The HTTP request behind the operation, or null for background work.</summary>
    public HttpRequestInfo? Http { get; set; }

    /// <summary>
    /// What the operation's appends have done so far, set by the event store: the audit pipeline reads it to tell
    /// a refusal that changed nothing from a failure that came after a change had committed.
    /// </summary>
    public OperationEffect Effect { get; private set; }

    /// <summary>An append is about to be sent: from here it may commit, whatever happens to the request.</summary>
    public OperationEffect AppendSending()
    {
        var before = Effect;
        if (before == OperationEffect.None)
            Effect = OperationEffect.Uncertain;
        return before;
    }

    public void AppendCommitted() => Effect = OperationEffect.Committed;

    /// <summary>The database refused the append, so it rolled back: the operation's effect is what it was before.</summary>
    public void AppendRolledBack(OperationEffect before) => Effect = before;
}

public enum OperationEffect
{
    /// <summary>Nothing was sent to be committed.</summary>
    None,

    /// <summary>An append was sent and its outcome is unknown (the connection broke before the answer).</summary>
    Uncertain,

    /// <summary>At least one append committed.</summary>
    Committed,
}

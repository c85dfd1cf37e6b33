using Seq.Application.Security;

namespace Seq.Application.EventSourcing;

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
}

namespace Seq.Application.EventSourcing;

/// <summary>
/// What is known about the operation in progress (one per request scope); it is written into the metadata
/// of every event the operation appends, so that each change can be traced to who asked for it and why.
/// </summary>
public sealed class OperationContext
{
    public string CorrelationId { get; set; } = Guid.NewGuid().ToString("N");
    public string? CausationId { get; set; }
    public string? Principal { get; set; }
    public string? PrincipalId { get; set; }
    public string? AuditOperationId { get; set; }
}

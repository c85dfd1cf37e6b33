namespace Seq.Infrastructure.EventSourcing;

/// <summary>Who caused an event and within which operation; stored beside every event.</summary>
public sealed record EventMetadata(
    string? CorrelationId,
    string? CausationId,
    string? Principal,
    string? PrincipalId,
    string? AuditOperationId)
{
    public static readonly EventMetadata None = new(null, null, null, null, null);
}

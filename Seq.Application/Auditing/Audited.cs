namespace Seq.Application.Auditing;

/// <summary>
/// Marks a request type as an audited operation, <c>Category/Operation</c>. By default it is audited as a pair: a
/// blocking <c>Begin</c> before anything else runs, then <c>Complete</c>, <c>Abandon</c> or <c>Fail</c>; with
/// <see cref="Single"/> it is one blocking <c>Record</c>. Templates are Serilog message templates whose holes name
/// the event's properties.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class AuditedAttribute(string category, string operation) : Attribute
{
    public string Category { get; } = category;
    public string Operation { get; } = operation;
    public bool Single { get; init; }
    public string? BeginTemplate { get; init; }
    public string? CompleteTemplate { get; init; }
    public string? AbandonTemplate { get; init; }
}

/// <summary>
/// Allow-lists a request property for the operation's audit events. Nothing else of a request reaches the audit
/// log, so a password, a token or a secret can only get there by someone marking it here.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class AuditPropertyAttribute : Attribute
{
    /// <summary>The property's name in the audit event; the request property's name by default.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// What is taken out of the value before any event of the operation carries it. The Begin is written before
    /// validation, so a value the validator will refuse (a URL with credentials, say) reaches it as given.
    /// </summary>
    public AuditRedaction Redact { get; init; }
}

public enum AuditRedaction
{
    None,

    /// <summary>A URL is recorded without its user information (<c>user:password@</c>); see <see cref="UrlUserInfo"/>.</summary>
    UrlUserInfo,
}

/// <summary>A result that adds properties to its operation's <c>Complete</c> event (such as the id of what was created).</summary>
public interface IAuditedResult
{
    IEnumerable<KeyValuePair<string, object?>> AuditProperties { get; }
}

public enum AuditEventKind
{
    Begin,
    Complete,
    Abandon,
    Fail,
    Advise,
    Record,
}

/// <summary>One audit event before it is stamped with its session, sequence number, principal and request.</summary>
public sealed record AuditEntry(
    string Category, string Operation, AuditEventKind Event, Guid OperationId, string MessageTemplate,
    IReadOnlyList<KeyValuePair<string, object?>> Properties, string? Exception = null)
{
    public bool IsBlocking => Event is AuditEventKind.Begin or AuditEventKind.Record;
}

/// <summary>The audit log of this run of the server. Configured only from the host; disabled unless a target is.</summary>
public interface IAuditLog
{
    bool IsEnabled { get; }

    /// <summary>
    /// Stamps and writes <paramref name="entry"/> with the operation's principal and request. A blocking entry
    /// (Begin, Record) returns once it is durable; the others return at once and keep their place in the order.
    /// </summary>
    /// <exception cref="AuditUnavailableException">A blocking entry could not be made durable.</exception>
    Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken);
}

/// <summary>The audit log could not record a blocking event, so the operation was not carried out (HTTP 503).</summary>
public sealed class AuditUnavailableException(Exception? inner = null)
    : Exception("The audit log is unavailable, so the operation was not carried out; try again once auditing recovers.", inner)
{
    /// <summary>
    /// Whether the opening event took its place in the log (it stays queued and is written later), so that a closing
    /// event must follow it; false when it was refused before (a full queue, a nearly full disk: ADR 0009).
    /// </summary>
    public bool OpeningRecorded { get; init; } = true;
}

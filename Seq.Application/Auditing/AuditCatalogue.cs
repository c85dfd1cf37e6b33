namespace Seq.Application.Auditing;

/// <summary>One kind of audited operation and the events it produces.</summary>
public sealed record AuditCatalogueEntry(string Category, string Operation, IReadOnlyList<AuditEventKind> Events, string Source, IReadOnlyList<string> Properties);

/// <summary>
/// Every user-initiated operation the server audits: each audited request type, plus what the HTTP layer audits
/// itself. docs/audit-events.md lists exactly this, and a test keeps the two equal.
/// </summary>
public static class AuditCatalogue
{
    /// <summary>A request refused before any operation ran: no or a wrong credential, or a missing permission.</summary>
    public static readonly AuditCatalogueEntry AccessRefused = new("Http", "Refuse", [AuditEventKind.Advise], "RequestAuthentication",
        ["DemandedPermission", "StatusCode", "Reason"]);

    /// <summary>
    /// Refusals from one client address that were counted rather than recorded one by one (ADR 0011); an address of
    /// null stands for the addresses beyond those tracked one by one.
    /// </summary>
    public static readonly AuditCatalogueEntry AccessRefusalsSummarized = new("Http", "RefuseSummary", [AuditEventKind.Advise], "RefusalAudit",
        ["RemoteIPAddress", "RefusalCount", "WindowSeconds"]);

    /// <summary>How many advisory events were not recorded while the audit queue was full or the audit disk nearly so (ADR 0009).</summary>
    public static readonly AuditCatalogueEntry AdvisoriesNotRecorded = new("Audit", "AdvisoriesNotRecorded", [AuditEventKind.Advise], "AuditLog",
        ["NotRecordedCount", "Reason"]);

    /// <summary>The first line of each audit session: it names the session before it and where that one ended (ADR 0007).</summary>
    public static readonly AuditCatalogueEntry SessionStarted = new("Audit", "SessionStart", [AuditEventKind.Record], "AuditLog",
        ["PreviousAuditSession", "PreviousSequenceNumber", "PreviousAuditChain", "PreviousSessionEnded"]);

    /// <summary>The last line of an audit session the server stopped cleanly (ADR 0007).</summary>
    public static readonly AuditCatalogueEntry SessionEnded = new("Audit", "SessionEnd", [AuditEventKind.Record], "AuditLog", []);

    /// <summary>A search of log events: what was asked (the filter text and signals), never what was found.</summary>
    public static readonly AuditCatalogueEntry EventSearch = new("Event", "Search", [AuditEventKind.Advise], "SearchEventsQuery",
        ["Filter", "Signal", "FromDateUtc", "ToDateUtc", "Count"]);

    /// <summary>A restore from a backup, recorded by the first start after it (the restore itself runs while no server does).</summary>
    public static readonly AuditCatalogueEntry BackupRestored = new("Backup", "Restore", [AuditEventKind.Record], "RestoreAudit",
        ["BackupFile", "RestoreKind", "RestoredAt", "BackupCreatedAt", "KeyId", "StreamCount", "EventCount"]);

    /// <summary>
    /// The daily backup, which the server starts on its own (no request, no user): Begin durable before the snapshot
    /// is taken, then Complete with the file, or Fail. Only the node that makes the day's backup records it.
    /// </summary>
    public static readonly AuditCatalogueEntry BackupScheduled = new("Backup", "ScheduledCreate",
        [AuditEventKind.Begin, AuditEventKind.Complete, AuditEventKind.Fail], "BackupSchedule", ["BackupDay"]);

    public static IReadOnlyList<AuditCatalogueEntry> All { get; } =
    [
        .. typeof(AuditCatalogue).Assembly.GetTypes()
            .Select(AuditedOperation.Of)
            .OfType<AuditedOperation>()
            .Select(o => new AuditCatalogueEntry(o.Category, o.Name,
                o.Single ? [AuditEventKind.Record] : [AuditEventKind.Begin, AuditEventKind.Complete, AuditEventKind.Abandon, AuditEventKind.Fail],
                o.RequestType.Name, [.. o.PropertyNames])),
        AccessRefused,
        AccessRefusalsSummarized,
        AdvisoriesNotRecorded,
        SessionStarted,
        SessionEnded,
        EventSearch,
        BackupRestored,
        BackupScheduled,
    ];
}

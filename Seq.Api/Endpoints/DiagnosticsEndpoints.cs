using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Seq.Domain.Security;
using Seq.Application.Diagnostics;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;

namespace Seq.Api.Endpoints;

static class DiagnosticsEndpoints
{
    public static void MapDiagnosticsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/diagnostics");

        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string>
            {
                ["Report"] = "api/diagnostics/report",
                ["ServerStatus"] = "api/diagnostics/status",
                ["ServerMetrics"] = "api/diagnostics/metrics",
                ["IngestionLog"] = "api/diagnostics/ingestion-log",
            },
        })).Demands(Permission.Public);

        group.MapGet("/status", (AuditLog audit, InstanceAuthenticationState authentication) =>
            Results.Ok(new { StatusMessages = StatusMessages(audit, authentication) })).Demands(Permission.Read);

        group.MapGet("/metrics", () =>
        {
            using var process = Process.GetCurrentProcess();
            // Seq's ServerMetricsPart. What this server has no source for yet is zero (docs/seq-compatibility.md says
            // which and why); the event store's remaining disk is null (unknown), as the client's type allows.
            return Results.Ok(new
            {
                EventStoreDiskRemainingBytes = (long?)null,
                EventStoreIndexingTimeLastDay = TimeSpan.Zero,
                EventStoreWriteTimeLastMinute = TimeSpan.Zero,
                InputArrivedEventsPerMinute = 0,
                InputIngestedEventsPerMinute = 0,
                InputIngestedBytesPerMinute = 0L,
                InvalidPayloadsPerMinute = 0,
                HttpUnauthorizedPayloadsPerMinute = 0,
                ProcessUptime = DateTime.Now - process.StartTime,
                ProcessThreads = process.Threads.Count,
                QueriesPerMinute = 0,
            });
        }).Demands(Permission.System);

        group.MapGet("/ingestion-log", (IngestionLog log) => Results.Text(log.Text(), "text/plain; charset=utf-8")).Demands(Permission.System);

        group.MapGet("/report", (AuditLog audit, Seq.Api.Hosting.ServerOptions node, AuditSession session) =>
        {
            var report = new StringBuilder()
                .AppendLine("Seq diagnostic report")
                .AppendLine($"Generated: {DateTime.UtcNow:O}")
                .AppendLine($"Version: {typeof(DiagnosticsEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}")
                .AppendLine($"Runtime: {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription}")
                .AppendLine($"Node: {node.ResolvedNodeName} (audit session {session.Id})")
                .AppendLine()
                .AppendLine("Auditing")
                .AppendLine(AuditingSummary(audit));
            return Results.Text(report.ToString(), "text/plain; charset=utf-8");
        }).Demands(Permission.System);
    }

    /// <summary>What an operator should know now, as Seq's status messages (Level is Seq's level name).</summary>
    static List<object> StatusMessages(AuditLog audit, InstanceAuthenticationState authentication)
    {
        var messages = new List<object>();
        if (audit.TargetState == AuditTargetState.Unavailable)
            messages.Add(new
            {
                Level = "Warning",
                Message = $"Auditing is unavailable, so audited operations are refused until it recovers: {audit.Problem}",
            });
        if (!authentication.Enabled)
            messages.Add(new { Level = "Warning", Message = "Authentication is disabled: anyone who can reach the server may do anything." });
        return messages;
    }

    /// <summary>The state of the audit log in Seq's words: "Auditing is enabled" with its target, or "Auditing is disabled".</summary>
    public static string AuditingSummary(AuditLog audit)
    {
        if (!audit.IsEnabled)
            return "Auditing is disabled.";
        var summary = new StringBuilder($"Auditing is enabled: target {audit.TargetDescription}, state {audit.TargetState}, session {audit.Session.Id}.");
        if (audit.Problem is { } problem)
            summary.Append(CultureInfo.InvariantCulture, $"\nProblem: {problem}");
        if (audit.Queue is var (lines, bytes, limits))
            summary.Append(CultureInfo.InvariantCulture, $"\nQueue: {lines} lines ({bytes} bytes) not yet durable, of at most {limits.MaximumQueuedLines} lines ({limits.MaximumQueuedBytes} bytes).");
        if (audit.FreeSpace is var (free, minimum))
            summary.Append(CultureInfo.InvariantCulture, $"\nAudit disk: {(free is null ? "free space unknown" : $"{free / (1024 * 1024)} MB free")}, at least {minimum / (1024 * 1024)} MB kept free (audit.minimumFreeSpaceMB).");
        if (audit.AdvisoriesNotRecorded > 0)
            summary.Append(CultureInfo.InvariantCulture, $"\nAdvisory events not recorded since the last summary: {audit.AdvisoriesNotRecorded}.");
        return summary.ToString();
    }
}

using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Seq.Domain.Security;
using Seq.Infrastructure.Auditing;

namespace Seq.Api.Endpoints;

static class DiagnosticsEndpoints
{
    public static void MapDiagnosticsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/diagnostics");

        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string> { ["Report"] = "api/diagnostics/report" },
        })).Demands(Permission.System);

        group.MapGet("/report", (AuditLog audit) =>
        {
            var report = new StringBuilder()
                .AppendLine("Seq diagnostic report")
                .AppendLine($"Generated: {DateTime.UtcNow:O}")
                .AppendLine($"Version: {typeof(DiagnosticsEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}")
                .AppendLine($"Runtime: {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription}")
                .AppendLine()
                .AppendLine("Auditing")
                .AppendLine(AuditingSummary(audit));
            return Results.Text(report.ToString(), "text/plain; charset=utf-8");
        }).Demands(Permission.System);
    }

    /// <summary>The state of the audit log in Seq's words: "Auditing is enabled" with its target, or "Auditing is disabled".</summary>
    public static string AuditingSummary(AuditLog audit) =>
        audit.IsEnabled
            ? $"Auditing is enabled: target {audit.TargetDescription}, state {audit.TargetState}, session {audit.Session.Id}."
            : "Auditing is disabled.";
}

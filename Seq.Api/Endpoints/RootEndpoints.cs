using System.Reflection;
using Seq.Application.Settings;
using Seq.Domain.Security;
using Seq.Domain.Settings;
using Seq.Infrastructure.EventSourcing;
using Npgsql;
using Seq.Infrastructure.Auditing;
using Seq.Api.Hosting;

namespace Seq.Api.Endpoints;

static class RootEndpoints
{
    static readonly string Version =
        typeof(RootEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static void MapRootEndpoints(this IEndpointRouteBuilder app)
    {
        // Public, so it reads the title straight from the read model rather than through the Read-only settings query.
        app.MapGet("/api", async (ISettingsReadModel settings, CancellationToken cancellationToken) =>
        {
            var title = (await settings.GetChangedValuesAsync(cancellationToken)).GetValueOrDefault(SettingCatalogue.InstanceTitle.Name);
            return Results.Ok(new
            {
                Product = "Seq",
                Version,
                InstanceName = string.IsNullOrEmpty(title) ? null : title,
                Links = new Dictionary<string, string>
                {
                    ["SettingsResources"] = "api/settings/resources",
                    ["FeedsResources"] = "api/feeds/resources",
                    ["RolesResources"] = "api/roles/resources",
                    ["UsersResources"] = "api/users/resources",
                    ["ApiKeysResources"] = "api/apikeys/resources",
                    ["DiagnosticsResources"] = "api/diagnostics/resources",
                    ["EventsResources"] = "api/events/resources",
                    ["BackupsResources"] = "api/backups/resources",
                    ["Health"] = "health",
                    ["SignalsResources"] = "api/signals/resources",
                },
            });
        }).Demands(Permission.Public);
    }

    /// <summary>
    /// Disabled, Available, or Unavailable (the last write failed or is taking too long, the queue is full or the
    /// audit disk nearly so: audited operations are refused until it recovers).
    /// </summary>
    static string AuditState(AuditLog audit) => audit.TargetState?.ToString() ?? "Disabled";

    public static void MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", async (NpgsqlDataSource dataSource, AuditLog audit, ServerOptions node, CancellationToken cancellationToken) =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(timeout.Token);
                return Results.Ok(new { Status = "The Seq node is in service.", Node = node.ResolvedNodeName, Database = "Available", Audit = AuditState(audit), AuditProblem = audit.Problem });
            }
            catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException)
            {
                return Results.Json(
                    new { Error = "The Seq node is not in service: its database does not answer.", Node = node.ResolvedNodeName, Database = "Unavailable", Audit = AuditState(audit), AuditProblem = audit.Problem },
                    statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        }).Demands(Permission.Public).WithMetadata(new IgnoresSession());
    }
}

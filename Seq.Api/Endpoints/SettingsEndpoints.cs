using System.Text.Json;
using MediatR;
using Seq.Application.Settings;
using Seq.Domain.Security;
using Seq.Domain.Settings;
using Seq.Infrastructure.Security;

namespace Seq.Api.Endpoints;

static class SettingsEndpoints
{
    const string IdPrefix = "setting-";
    const string InternalErrorReportingPath = "api/settings/internalerrorreporting";

    public static void MapSettingsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/settings");

        // Seq clients find a setting by its name among these links (SettingsResourceGroup.FindNamedAsync).
        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string>
            {
                ["Items"] = "api/settings",
                ["Item"] = "api/settings/{id}",
                [SettingCatalogue.IsAuthenticationEnabled] = SelfLink(SettingCatalogue.IsAuthenticationEnabled),
                ["InternalErrorReporting"] = InternalErrorReportingPath,
            }.Concat(SettingCatalogue.All.Select(d => KeyValuePair.Create(d.Name, SelfLink(d.Name))))
             .ToDictionary(),
        })).Demands(Permission.Public);

        group.MapGet("/", async (IMediator mediator, InstanceAuthenticationState authentication, CancellationToken cancellationToken) =>
        {
            var settings = await mediator.Send(new ListSettingsQuery(), cancellationToken);
            return Results.Ok(settings.Select(ToEntity).Append(IsAuthenticationEnabled(authentication)));
        }).Demands(Permission.Read);

        group.MapGet("/internalerrorreporting", () => Results.Ok(InternalErrorReportingView.Disabled)).Demands(Permission.Read);

        group.MapPut("/internalerrorreporting", async (InternalErrorReportingBody body, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(await mediator.Send(new ChangeInternalErrorReportingCommand(
                body.InternalErrorReportingEnabled ?? false, !string.IsNullOrWhiteSpace(body.ReplyEmail), body.UsageTelemetryEnabled ?? false)
            {
                UnsupportedFields = UnsupportedFields.Of(body.Extra),
            }, cancellationToken)))
            .Demands(Permission.System);

        group.MapGet("/{id}", async (string id, IMediator mediator, InstanceAuthenticationState authentication, CancellationToken cancellationToken) =>
            string.Equals(NameFromId(id), SettingCatalogue.IsAuthenticationEnabled, StringComparison.OrdinalIgnoreCase)
                ? Results.Ok(IsAuthenticationEnabled(authentication))
                : Results.Ok(ToEntity(await mediator.Send(new GetSettingQuery(NameFromId(id)), cancellationToken)))).Demands(Permission.Read);

        group.MapPut("/{id}", async (string id, SettingUpdate update, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var command = new ChangeSettingCommand(NameFromId(id), ValueText(update.Value))
            {
                BodyName = update.Name,
                ValueIsScalar = update.Value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array),
                ValueGiven = update.Value.ValueKind is not JsonValueKind.Undefined,
                UnsupportedFields = UnsupportedFields.Of(update.Extra, "Id", "Description"),
            };
            var changed = await mediator.Send(command, cancellationToken);
            return Results.Ok(ToEntity(changed));
        }).Demands(Permission.System);
    }

    /// <summary>
    /// A PUT body: Seq's setting entity, of which only <c>Value</c> (and optionally <c>Name</c>) is read. <c>Value</c>
    /// is not nullable so that a null (which restores the default) can be told from no value at all.
    /// </summary>
    sealed record SettingUpdate(string? Name, JsonElement Value)
    {
        /// <summary>Whatever else the body holds; see <see cref="UnsupportedFields"/>.</summary>
        [System.Text.Json.Serialization.JsonExtensionData]
        public Dictionary<string, JsonElement>? Extra { get; init; }
    }

    /// <summary>Seq's internal error reporting part.</summary>
    sealed record InternalErrorReportingBody(bool? InternalErrorReportingEnabled, string? ReplyEmail, bool? UsageTelemetryEnabled)
    {
        /// <summary>Whatever else the body holds; see <see cref="UnsupportedFields"/>.</summary>
        [System.Text.Json.Serialization.JsonExtensionData]
        public Dictionary<string, JsonElement>? Extra { get; init; }
    }

    static string NameFromId(string id) => id.StartsWith(IdPrefix, StringComparison.OrdinalIgnoreCase) ? id[IdPrefix.Length..] : id;

    static string SelfLink(string name) => $"api/settings/{IdPrefix}{name}";

    static string? ValueText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String => value.GetString(),
        _ => value.GetRawText(),
    };

    // Read-only: whether the first start chose authentication; it is not a stored setting.
    static object IsAuthenticationEnabled(InstanceAuthenticationState authentication) => new
    {
        Id = IdPrefix + SettingCatalogue.IsAuthenticationEnabled,
        Name = SettingCatalogue.IsAuthenticationEnabled,
        Value = authentication.Enabled,
        Description = "Whether users must log in; chosen at the server's first start and read-only.",
        Links = Links.Self(SelfLink(SettingCatalogue.IsAuthenticationEnabled)),
    };

    static object ToEntity(SettingView setting) => new
    {
        Id = IdPrefix + setting.Name,
        setting.Name,
        Value = setting.Kind switch
        {
            SettingKind.Integer => long.Parse(setting.Value, System.Globalization.CultureInfo.InvariantCulture),
            SettingKind.Boolean => bool.Parse(setting.Value),
            _ => (object)setting.Value,
        },
        setting.Description,
        Links = Links.Self(SelfLink(setting.Name)),
    };
}

using System.Text.Json;
using MediatR;
using Seq.Application.Settings;
using Seq.Domain.Security;
using Seq.Domain.Settings;

namespace Seq.Api.Endpoints;

static class SettingsEndpoints
{
    const string IdPrefix = "setting-";

    public static void MapSettingsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/settings");

        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string>
            {
                ["Items"] = "api/settings",
                ["Item"] = "api/settings/{id}",
            }.Concat(SettingCatalogue.All.Select(d => KeyValuePair.Create(d.Name, SelfLink(d.Name))))
             .ToDictionary(),
        })).Demands(Permission.Read);

        group.MapGet("/", async (IMediator mediator, CancellationToken cancellationToken) =>
        {
            var settings = await mediator.Send(new ListSettingsQuery(), cancellationToken);
            return Results.Ok(settings.Select(ToEntity));
        }).Demands(Permission.Read);

        group.MapGet("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetSettingQuery(NameFromId(id)), cancellationToken)))).Demands(Permission.Read);

        group.MapPut("/{id}", async (string id, SettingUpdate update, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var command = new ChangeSettingCommand(NameFromId(id), ValueText(update.Value))
            {
                BodyName = update.Name,
                ValueIsScalar = update.Value?.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array),
            };
            var changed = await mediator.Send(command, cancellationToken);
            return Results.Ok(ToEntity(changed));
        }).Demands(Permission.System);
    }

    /// <summary>A PUT body: Seq's setting entity, of which only <c>Value</c> (and optionally <c>Name</c>) is read.</summary>
    sealed record SettingUpdate(string? Name, JsonElement? Value);

    static string NameFromId(string id) => id.StartsWith(IdPrefix, StringComparison.OrdinalIgnoreCase) ? id[IdPrefix.Length..] : id;

    static string SelfLink(string name) => $"api/settings/{IdPrefix}{name}";

    static string? ValueText(JsonElement? value) => value?.ValueKind switch
    {
        null or JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String => value.Value.GetString(),
        _ => value.Value.GetRawText(),
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
        Links = new Dictionary<string, string> { ["Self"] = SelfLink(setting.Name) },
    };
}

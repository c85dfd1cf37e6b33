using System.Text.Json;
using MediatR;
using Seq.Application.ApiKeys;
using Seq.Application.Pipeline;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Api.Endpoints;

static class ApiKeyEndpoints
{
    public static void MapApiKeyEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/apikeys");

        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string>
            {
                ["Items"] = "api/apikeys{?ownerId,shared}", ["Item"] = "api/apikeys/{id}", ["Template"] = "api/apikeys/template",
            },
        })).Demands(Permission.Public);

        // A template is not a key yet: it links to where it is created, not to a Self with no id.
        group.MapGet("/template", (OperationContext operation) =>
            Results.Ok(ToEntity(new ApiKeyView("", "", "", [Permission.Ingest], operation.Principal.UserId, InputSettings.None), links: Links.Create("api/apikeys"))))
            .Demands(Permission.Write);

        group.MapGet("/", async (string? ownerId, bool? shared, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok((await mediator.Send(new ListApiKeysQuery(string.IsNullOrEmpty(ownerId) ? null : ownerId) { Shared = shared ?? false }, cancellationToken))
                .Select(key => ToEntity(key)))).Demands(Permission.Write);

        group.MapGet("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetApiKeyQuery(id), cancellationToken)))).Demands(Permission.Write);

        group.MapPost("/", async (ApiKeyBody body, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var command = new CreateApiKeyCommand(body.Title, RequestedPermissionsOf(body.AssignedPermissions), string.IsNullOrEmpty(body.OwnerId) ? null : body.OwnerId,
                RequestedInputSettingsOf(body.InputSettings)) { Token = string.IsNullOrEmpty(body.Token) ? null : body.Token, UnsupportedFields = body.Unsupported };
            var created = await mediator.Send(command, cancellationToken);
            return Results.Created($"/api/apikeys/{created.ApiKey.Id}", ToEntity(created.ApiKey, created.Token));
        }).Demands(Permission.Write);

        group.MapPut("/{id}", async (string id, ApiKeyBody body, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var command = new UpdateApiKeyCommand(id, body.Title, RequestedPermissionsOf(body.AssignedPermissions), RequestedInputSettingsOf(body.InputSettings))
            {
                BodyId = body.Id,
                TokenSupplied = !string.IsNullOrEmpty(body.Token),
                UnsupportedFields = body.Unsupported,
            };
            return Results.Ok(ToEntity(await mediator.Send(command, cancellationToken)));
        }).Demands(Permission.Write);

        group.MapDelete("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
        {
            await mediator.Send(new DeleteApiKeyCommand(id), cancellationToken);
            return Results.NoContent();
        }).Demands(Permission.Write);
    }

    /// <summary>
    /// Seq's API key entity as a request body. <c>OwnerId</c> is read only when creating: a key's owner never changes.
    /// A <c>Token</c> is accepted when creating a shared key (validation checks its strength) and refused otherwise.
    /// </summary>
    sealed record ApiKeyBody(string? Id, string? Title, string? Token, IReadOnlyList<string?>? AssignedPermissions, string? OwnerId, InputSettingsBody? InputSettings)
    {
        /// <summary>Whatever else the body holds; see <see cref="UnsupportedFields"/>.</summary>
        [System.Text.Json.Serialization.JsonExtensionData]
        public Dictionary<string, JsonElement>? Extra { get; init; }

        public IReadOnlyList<string> Unsupported => UnsupportedFields.Of(Extra, "TokenPrefix", "InputMetrics");

        public override string ToString() => $"ApiKeyBody {{ Id = {Id}, Title = {Title}, OwnerId = {OwnerId} }}";
    }

    sealed record InputSettingsBody(IReadOnlyList<AppliedPropertyBody?>? AppliedProperties, string? MinimumLevel, FilterBody? Filter, bool? UseServerTimestamps);

    sealed record AppliedPropertyBody(string? Name, JsonElement? Value);

    sealed record FilterBody(string? Description, bool? DescriptionIsExcluded, string? Filter, string? FilterNonStrict);

    static IReadOnlyList<RequestedPermission>? RequestedPermissionsOf(IReadOnlyList<string?>? names) => names?.Select(name => new RequestedPermission(name)).ToList();

    static RequestedInputSettings? RequestedInputSettingsOf(InputSettingsBody? body)
    {
        if (body is null)
            return null;
        var properties = (body.AppliedProperties ?? []).Select(p => p is null ? null : new RequestedAppliedProperty(p.Name, ValueText(p.Value), IsScalar(p.Value))).ToList();
        var filter = body.Filter is { } f ? new DescriptiveFilter(f.Description, f.DescriptionIsExcluded ?? false, f.Filter ?? "", f.FilterNonStrict) : null;
        return new RequestedInputSettings(properties, body.MinimumLevel, filter, body.UseServerTimestamps ?? false);
    }

    static bool IsScalar(JsonElement? value) => value?.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array);

    // Seq's applied property values are JSON scalars; they are kept as text, so 42 and "42" are the same value.
    static string? ValueText(JsonElement? value) => value?.ValueKind switch
    {
        null or JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String => value.Value.GetString(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => value.Value.GetRawText(),
    };

    static object ToEntity(ApiKeyView key, string? token = null, Dictionary<string, string>? links = null) => new
    {
        key.Id,
        key.Title,
        Token = token,
        key.TokenPrefix,
        AssignedPermissions = key.AssignedPermissions.Select(p => p.ToString()),
        key.OwnerId,
        InputSettings = new
        {
            AppliedProperties = key.InputSettings.AppliedProperties.Select(p => new { p.Name, p.Value }),
            key.InputSettings.MinimumLevel,
            Filter = key.InputSettings.Filter is { } f ? new { f.Description, f.DescriptionIsExcluded, f.Filter, f.FilterNonStrict } : null,
            key.InputSettings.UseServerTimestamps,
        },
        Links = links ?? Links.Self($"api/apikeys/{key.Id}"),
    };
}

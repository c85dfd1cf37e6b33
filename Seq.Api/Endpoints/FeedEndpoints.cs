using System.Text.Json;
using MediatR;
using Seq.Application.Auditing;
using Seq.Application.Feeds;
using Seq.Domain.Security;

namespace Seq.Api.Endpoints;

static class FeedEndpoints
{
    public static void MapFeedEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/feeds");

        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string> { ["Items"] = "api/feeds", ["Item"] = "api/feeds/{id}", ["Template"] = "api/feeds/template" },
        })).Demands(Permission.Public);

        group.MapGet("/template", () => Results.Ok(EntityWith(new NuGetFeedView("", "", "", null, false), Links.Create("api/feeds")))).Demands(Permission.System);

        group.MapGet("/", async (IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok((await mediator.Send(new ListNuGetFeedsQuery(), cancellationToken)).Select(ToEntity))).Demands(Permission.System);

        group.MapGet("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetNuGetFeedQuery(id), cancellationToken)))).Demands(Permission.System);

        group.MapPost("/", async (FeedBody body, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var created = await mediator.Send(new CreateNuGetFeedCommand(body.Name, body.Location, body.Username, body.NewPassword ?? body.Password) { UnsupportedFields = body.Unsupported },
                cancellationToken);
            return Results.Created($"/api/feeds/{created.Id}", ToEntity(created));
        }).Demands(Permission.System);

        group.MapPut("/{id}", async (string id, FeedBody body, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var updated = await mediator.Send(new UpdateNuGetFeedCommand(id, body.Name, body.Location, body.Username, body.NewPassword ?? body.Password) { BodyId = body.Id, UnsupportedFields = body.Unsupported },
                cancellationToken);
            return Results.Ok(ToEntity(updated));
        }).Demands(Permission.System);

        group.MapDelete("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
        {
            await mediator.Send(new DeleteNuGetFeedCommand(id), cancellationToken);
            return Results.NoContent();
        }).Demands(Permission.System);
    }

    /// <summary>
    /// Seq's NuGet feed entity as a request body. The password is write-only: Seq clients send it as
    /// <c>NewPassword</c>; <c>Password</c> is accepted too. Absent leaves it unchanged, "" clears it.
    /// </summary>
    sealed record FeedBody(string? Id, string? Name, string? Location, string? Username, string? NewPassword, string? Password)
    {
        /// <summary>Whatever else the body holds; see <see cref="UnsupportedFields"/>.</summary>
        [System.Text.Json.Serialization.JsonExtensionData]
        public Dictionary<string, JsonElement>? Extra { get; init; }

        public IReadOnlyList<string> Unsupported => UnsupportedFields.Of(Extra, "IsPasswordSet");

        public override string ToString() => $"FeedBody {{ Id = {Id}, Name = {Name}, Location = {UrlUserInfo.Remove(Location)}, Username = {Username} }}";
    }

    static object ToEntity(NuGetFeedView feed) => EntityWith(feed, Links.Self($"api/feeds/{feed.Id}"));

    static object EntityWith(NuGetFeedView feed, Dictionary<string, string> links) => new
    {
        feed.Id,
        feed.Name,
        feed.Location,
        feed.Username,
        feed.IsPasswordSet,
        Links = links,
    };
}

using System.Text.Json;
using MediatR;
using Seq.Api.Hosting;
using Seq.Application.Users;
using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Api.Endpoints;

static class UserEndpoints
{
    public static void MapUserEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/users");

        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string>
            {
                ["Items"] = "api/users", ["Item"] = "api/users/{id}", ["Template"] = "api/users/template",
                ["Current"] = "api/users/current", ["Login"] = "api/users/login", ["Logout"] = "api/users/logout",
            },
        })).Demands(Permission.Public);

        group.MapGet("/template", () => Results.Ok(EntityWith(new UserView("", "", null, null, [BuiltInRoles.UserReadWrite.Id], null, true), Endpoints.Links.Create("api/users"))))
            .Demands(Permission.Organization);

        group.MapGet("/", async (IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok((await mediator.Send(new ListUsersQuery(), cancellationToken)).Select(ToEntity))).Demands(Permission.Organization);

        group.MapGet("/current", async (IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetCurrentUserQuery(), cancellationToken)))).Demands(Permission.Public, user: true);

        group.MapGet("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetUserQuery(id), cancellationToken)))).Demands(Permission.Organization);

        group.MapPost("/", async (UserBody body, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var created = await mediator.Send(new CreateUserCommand(body.Username, body.DisplayName, body.EmailAddress, body.RoleIds, body.ViewFilter,
                body.NewPassword ?? body.Password, body.MustChangePassword ?? false) { UnsupportedFields = body.Unsupported }, cancellationToken);
            return Results.Created($"/api/users/{created.Id}", ToEntity(created));
        }).Demands(Permission.Organization);

        group.MapPut("/{id}", async (string id, UserBody body, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var updated = await mediator.Send(new UpdateUserCommand(id, body.Username, body.DisplayName, body.EmailAddress, body.RoleIds, body.ViewFilter,
                body.MustChangePassword ?? false, body.NewPassword) { BodyId = body.Id, UnsupportedFields = body.Unsupported }, cancellationToken);
            return Results.Ok(ToEntity(updated));
        }).Demands(Permission.Organization);

        group.MapDelete("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
        {
            await mediator.Send(new DeleteUserCommand(id), cancellationToken);
            return Results.NoContent();
        }).Demands(Permission.Organization);

        group.MapPost("/login", async (CredentialsBody body, HttpContext context, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var result = await mediator.Send(new LoginCommand(body.Username, body.Password, body.NewPassword), cancellationToken);
            RequestAuthentication.StartSessionCookie(context, result.Session.Token);
            return Results.Ok(new
            {
                result.User.Id,
                result.User.Username,
                result.User.DisplayName,
                result.User.EmailAddress,
                result.User.RoleIds,
                result.User.ViewFilter,
                result.User.MustChangePassword,
                result.Session.CsrfToken,
                Links = Links(result.User.Id),
            });
        }).Demands(Permission.Public).WithMetadata(new IgnoresSession());

        group.MapPost("/logout", async (HttpContext context, IMediator mediator, CancellationToken cancellationToken) =>
        {
            await mediator.Send(new LogoutCommand(RequestAuthentication.SessionTokenOf(context)), cancellationToken);
            RequestAuthentication.EndSessionCookie(context);
            return Results.Ok(new { });
        }).Demands(Permission.Public);

        group.MapPut("/current/password", async (CredentialsBody body, HttpContext context, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var version = await mediator.Send(new ChangeOwnPasswordCommand(body.Password, body.NewPassword), cancellationToken);
            // The change ends every session of the user; the one that made it carries on.
            if (RequestAuthentication.SessionTokenOf(context) is { } token)
                await context.RequestServices.GetRequiredService<Application.Security.ISessions>().RestampAsync(token, version, CancellationToken.None);
            return Results.NoContent();
        }).Demands(Permission.Public, user: true);
    }

    /// <summary>Seq's user entity as a request body; the password is write-only (<c>NewPassword</c>, or <c>Password</c> on create).</summary>
    sealed record UserBody(
        string? Id, string? Username, string? DisplayName, string? EmailAddress, IReadOnlyList<string>? RoleIds, DescriptiveFilter? ViewFilter,
        bool? MustChangePassword, string? NewPassword, string? Password)
    {
        /// <summary>Whatever else the body holds; see <see cref="UnsupportedFields"/>.</summary>
        [System.Text.Json.Serialization.JsonExtensionData]
        public Dictionary<string, JsonElement>? Extra { get; init; }

        // CsrfToken: the login response is a user entity, and a client may send it back.
        public IReadOnlyList<string> Unsupported => UnsupportedFields.Of(Extra, "CsrfToken");

        public override string ToString() => $"UserBody {{ Id = {Id}, Username = {Username} }}";
    }

    sealed record CredentialsBody(string? Username, string? Password, string? NewPassword)
    {
        public override string ToString() => $"CredentialsBody {{ Username = {Username} }}";
    }

    static object ToEntity(UserView user) => EntityWith(user, Links(user.Id));

    static object EntityWith(UserView user, Dictionary<string, string> links) => new
    {
        user.Id,
        user.Username,
        user.DisplayName,
        user.EmailAddress,
        user.RoleIds,
        user.ViewFilter,
        user.MustChangePassword,
        Links = links,
    };

    static Dictionary<string, string> Links(string id) => Endpoints.Links.Self($"api/users/{id}");
}

using MediatR;
using Seq.Application.Signals;
using Seq.Domain.Security;
using Seq.Domain.Signals;

namespace Seq.Api.Endpoints;

static class SignalEndpoints
{
    public static void MapSignalEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/signals");

        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string>
            {
                ["Items"] = "api/signals{?ownerId,shared,partial}",
                ["Item"] = "api/signals/{id}{?partial}",
                ["Template"] = "api/signals/template",
            },
        })).Demands(Permission.Read);

        group.MapGet("/template", () =>
            Results.Ok(ToEntity(new SignalView("", null, new SignalDefinition("New Signal", null, [], [], SignalGrouping.Inferred, null, false, false))))).Demands(Permission.Read);

        // `partial` asks Seq for signals without their filters; whole signals are small, so it is accepted and ignored.
        group.MapGet("/", async (string? ownerId, bool? shared, bool? partial, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok((await mediator.Send(new ListSignalsQuery(ownerId, shared ?? false), cancellationToken)).Select(ToEntity))).Demands(Permission.Read);

        group.MapGet("/{id}", async (string id, bool? partial, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetSignalQuery(id), cancellationToken)))).Demands(Permission.Read);

        group.MapPost("/", async (SignalBody body, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var created = await mediator.Send(new CreateSignalCommand(body.Title, body.Description, FiltersOf(body), ColumnsOf(body), GroupingOf(body.Grouping),
                body.ExplicitGroupName, body.IsProtected, body.IsIndexSuppressed, body.OwnerId), cancellationToken);
            return Results.Created($"/api/signals/{created.Id}", ToEntity(created));
        }).Demands(Permission.Read);

        group.MapPut("/{id}", async (string id, SignalBody body, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var command = new UpdateSignalCommand(id, body.Title, body.Description, FiltersOf(body), ColumnsOf(body), GroupingOf(body.Grouping),
                body.ExplicitGroupName, body.IsProtected, body.IsIndexSuppressed) { BodyId = body.Id };
            return Results.Ok(ToEntity(await mediator.Send(command, cancellationToken)));
        }).Demands(Permission.Read);

        group.MapDelete("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
        {
            await mediator.Send(new RemoveSignalCommand(id), cancellationToken);
            return Results.NoContent();
        }).Demands(Permission.Read);
    }

    /// <summary>Seq's signal entity as a request body. <c>OwnerId</c> is read only when creating: a signal's owner never changes.</summary>
    sealed record SignalBody(
        string? Id,
        string? Title,
        string? Description,
        List<SignalFilterBody?>? Filters,
        List<SignalColumnBody?>? Columns,
        string? Grouping,
        string? ExplicitGroupName,
        bool IsProtected,
        bool IsIndexSuppressed,
        string? OwnerId);

    sealed record SignalFilterBody(string? Description, bool DescriptionIsExcluded, string? Filter, string? FilterNonStrict);

    sealed record SignalColumnBody(string? Expression);

    // A missing filter or column entry is kept as null, so that validation refuses it with a message rather than it vanishing.
    static List<SignalFilterFields>? FiltersOf(SignalBody body) =>
        body.Filters?.Select(f => f is null ? null! : new SignalFilterFields(f.Description, f.DescriptionIsExcluded, f.Filter, f.FilterNonStrict)).ToList();

    static List<SignalColumn>? ColumnsOf(SignalBody body) =>
        body.Columns?.Select(c => c is null ? null! : new SignalColumn(c.Expression!)).ToList();

    // An unknown grouping becomes a value outside the enum, which validation refuses with a 400.
    static SignalGrouping GroupingOf(string? grouping) =>
        string.IsNullOrEmpty(grouping) ? SignalGrouping.Inferred
        : Enum.TryParse<SignalGrouping>(grouping, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !char.IsAsciiDigit(grouping[0]) ? parsed
        : (SignalGrouping)(-1);

    static object ToEntity(SignalView signal) => new
    {
        signal.Id,
        signal.Definition.Title,
        signal.Definition.Description,
        Filters = signal.Definition.Filters.Select(f => new { f.Description, f.DescriptionIsExcluded, f.Filter, f.FilterNonStrict }),
        Columns = signal.Definition.Columns.Select(c => new { c.Expression }),
        Grouping = signal.Definition.Grouping.ToString(),
        signal.Definition.ExplicitGroupName,
        signal.Definition.IsProtected,
        signal.Definition.IsIndexSuppressed,
        signal.OwnerId,
        Links = new Dictionary<string, string> { ["Self"] = $"api/signals/{signal.Id}" },
    };
}

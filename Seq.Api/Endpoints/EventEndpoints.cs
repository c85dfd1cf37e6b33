using System.Globalization;
using System.Text.Json;
using MediatR;
using Microsoft.AspNetCore.Http.Features;
using Seq.Api.Hosting;
using Seq.Application.Auditing;
using Seq.Application.Events;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Api.Endpoints;

/// <summary>An endpoint that reads its request body itself, under its own size limit (ingestion).</summary>
sealed record ReadsItsOwnBody;

static class EventEndpoints
{
    const string Parameters = "{?signal,filter,count,startAtId,afterId,render,fromDateUtc,toDateUtc,shortCircuitAfter,permalinkId}";

    public static void MapEventEndpoints(this IEndpointRouteBuilder app)
    {
        // The per-address write limit is for administrative writes; a logger sends a batch every few seconds from many
        // processes behind one address, and ingestion is bounded by its own payload settings instead (ADR 0041).
        app.MapPost("/api/events/raw", IngestAsync).Demands(Permission.Public).WithMetadata(new AcceptsApiKeyInQuery(), new ReadsItsOwnBody()).DisableRateLimiting();
        app.MapPost("/ingest/clef", IngestAsync).Demands(Permission.Public).WithMetadata(new AcceptsApiKeyInQuery(), new ReadsItsOwnBody()).DisableRateLimiting();

        var group = app.MapGroup("/api/events");
        group.MapGet("/resources", () => Results.Ok(new
        {
            Links = new Dictionary<string, string>
            {
                ["Items"] = "api/events" + Parameters,
                ["InSignal"] = "api/events/signal" + Parameters[..^1] + ",background,trace}",
                ["Item"] = "api/events/{id}{?render,permalinkId,background,trace}",
                ["Raw"] = "api/events/raw",
            },
        })).Demands(Permission.Public);

        group.MapGet("/", async (HttpContext context, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok((await mediator.Send(SearchOf(context.Request.Query), cancellationToken)).Events.Select(ToEntity))).Demands(Permission.Read);

        group.MapGet("/signal", async (HttpContext context, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var (events, count) = await mediator.Send(SearchOf(context.Request.Query), cancellationToken);
            return Results.Ok(new
            {
                Events = events.Select(ToEntity),
                Statistics = new
                {
                    Status = events.Count < count ? "Complete" : "Partial",
                    LastReadEventId = events.Count == 0 ? null : events[^1].Id,
                    ScannedEventCount = events.Count,
                },
            });
        }).Demands(Permission.Read);

        group.MapGet("/{id}", async (string id, HttpContext context, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetEventQuery(id)
            {
                Render = First(context.Request.Query, "render"),
                Repeated = Repeated(context.Request.Query, "render"),
            }, cancellationToken)))).Demands(Permission.Read);
    }

    static async Task IngestAsync(HttpContext context, EventIngestion ingestion, OperationContext operation, RefusalAudit refusals, CancellationToken cancellationToken)
    {
        EventIngestion.Limits limits;
        try
        {
            limits = await ingestion.AdmitAsync(operation.Principal, cancellationToken);
        }
        catch (Exception e) when (e is AuthenticationRequiredException or AccessDeniedException)
        {
            var status = e is AuthenticationRequiredException ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
            var refused = AuditCatalogue.AccessRefused;
            refusals.Record(new AuditEntry(refused.Category, refused.Operation, AuditEventKind.Advise, Guid.NewGuid(),
                "Refused {HttpRequestMethod} {HttpRequestPath} with {StatusCode}: {Reason}",
                [new("DemandedPermission", nameof(Permission.Ingest)), new("StatusCode", status), new("Reason", e.Message)]), operation.Principal, operation.Http!);
            throw;
        }

        // The server-wide body limit is for JSON requests; ingestion has its own setting, enforced while reading.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = null;
        IngestionResult result;
        using (var payload = await EventIngestion.ReadPayloadAsync(context.Request.Body, context.Request.ContentLength, limits.MaximumPayloadBytes, cancellationToken))
            result = await ingestion.IngestAsync(operation.Principal, payload.Memory, limits, cancellationToken);

        // Serilog.Sinks.Seq finds the level by searching this exact text, so it is written byte for byte.
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(
            result.MinimumLevelAccepted is null ? """{"MinimumLevelAccepted":null}""" : $$"""{"MinimumLevelAccepted":"{{result.MinimumLevelAccepted}}"}""", cancellationToken);
    }

    // Texts only: SearchEventsValidator reads and refuses them, with the same 400 as any other request.
    static SearchEventsQuery SearchOf(IQueryCollection query) => new()
    {
        Filter = First(query, "filter"),
        Signal = First(query, "signal"),
        Count = First(query, "count"),
        FromDateUtc = First(query, "fromDateUtc"),
        ToDateUtc = First(query, "toDateUtc"),
        AfterId = First(query, "afterId"),
        StartAtId = First(query, "startAtId"),
        Render = First(query, "render"),
        ShortCircuitAfter = First(query, "shortCircuitAfter"),
        Repeated = Repeated(query, "filter", "signal", "count", "fromDateUtc", "toDateUtc", "afterId", "startAtId", "render", "shortCircuitAfter"),
    };

    static string? First(IQueryCollection query, string name) => query.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    static string[] Repeated(IQueryCollection query, params string[] names) =>
        [.. names.Where(name => query.TryGetValue(name, out var values) && values.Count > 1)];

    /// <summary>Seq's EventEntity.</summary>
    static object ToEntity(StoredLogEvent stored)
    {
        var e = stored.Event;
        using var properties = JsonDocument.Parse(e.PropertiesJson);
        List<string>? renderings = null;
        if (e.Renderings is not null)
        {
            using var r = JsonDocument.Parse(e.Renderings);
            renderings = [.. r.RootElement.EnumerateArray().Select(x => x.GetString() ?? "")];
        }
        var next = 0;
        var root = properties.RootElement;
        return new
        {
            stored.Id,
            Timestamp = e.Timestamp.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            Properties = root.EnumerateObject().Select(p => new { p.Name, Value = p.Value.Clone() }).ToList(),
            MessageTemplateTokens = e.MessageTemplate is null ? [] : MessageTemplate.Tokenize(e.MessageTemplate).Select(t => t.Text is not null
                ? (object)new { t.Text }
                : new
                {
                    t.PropertyName,
                    t.RawText,
                    FormattedValue = t.Format is not null && renderings is not null && next < renderings.Count ? renderings[next++]
                        : root.TryGetProperty(t.PropertyName!, out var value) ? MessageTemplate.Format(value, t.Format) : null,
                }).ToList(),
            EventType = e.EventType is { } type ? "$" + type.ToString("X8", CultureInfo.InvariantCulture) : null,
            e.Level,
            e.Exception,
            e.RenderedMessage,
            e.TraceId,
            e.SpanId,
            ParentId = e.ParentSpanId,
            e.SpanKind,
            Start = e.SpanStart?.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            MessageTemplate = e.MessageTemplate,
            Links = new Dictionary<string, string> { ["Self"] = $"api/events/{stored.Id}" },
        };
    }
}

using System.Globalization;
using System.Text.Json;
using MediatR;
using Microsoft.AspNetCore.Http.Features;
using Seq.Api.Hosting;
using Seq.Application.Auditing;
using Seq.Application.Events;
using Seq.Application.EventSourcing;
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
            Results.Ok((await SearchAsync(context, mediator, cancellationToken)).Select(ToEntity))).Demands(Permission.Read);

        group.MapGet("/signal", async (HttpContext context, IMediator mediator, CancellationToken cancellationToken) =>
        {
            var events = await SearchAsync(context, mediator, cancellationToken);
            var count = CountOf(context) ?? SearchEventsQuery.DefaultCount;
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

        group.MapGet("/{id}", async (string id, IMediator mediator, CancellationToken cancellationToken) =>
            Results.Ok(ToEntity(await mediator.Send(new GetEventQuery(id), cancellationToken)))).Demands(Permission.Read);
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

    static Task<IReadOnlyList<StoredLogEvent>> SearchAsync(HttpContext context, IMediator mediator, CancellationToken cancellationToken)
    {
        var query = context.Request.Query;
        return mediator.Send(new SearchEventsQuery(
            Single(query, "filter"), Single(query, "signal"), CountOf(context),
            DateOf(query, "fromDateUtc"), DateOf(query, "toDateUtc"), Single(query, "afterId")), cancellationToken);
    }

    static string? Single(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) ? values.Count == 1 ? values[0] : throw Invalid(name, $"Give {name} once.") : null;

    static int? CountOf(HttpContext context) =>
        Single(context.Request.Query, "count") is not { } text ? null
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count
        : throw Invalid("count", $"count must be a whole number between 1 and {SearchEventsQuery.MaximumCount}.");

    static DateTimeOffset? DateOf(IQueryCollection query, string name) =>
        Single(query, name) is not { } text ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date.ToUniversalTime()
        : throw Invalid(name, $"{name} must be an ISO 8601 date and time.");

    static FluentValidation.ValidationException Invalid(string name, string message) =>
        new([new FluentValidation.Results.ValidationFailure(name, message)]);

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

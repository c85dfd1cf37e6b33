using System.Text.Json;
using FluentValidation;
using Npgsql;
using Seq.Application.EventSourcing;
using Seq.Application.Auditing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain;

namespace Seq.Api.Hosting;

/// <summary>
/// The one place exceptions become HTTP responses. Every error body is <c>{"Error": "…"}</c>; an unexpected
/// failure is logged in full here and answered with a message that reveals nothing of the server's internals.
/// </summary>
sealed class ErrorMapping(RequestDelegate next, ILogger<ErrorMapping> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (Exception exception) when (!context.Response.HasStarted)
        {
            var (status, message) = Map(exception);
            if (status == StatusCodes.Status500InternalServerError)
                logger.LogError(exception, "Unexpected error handling {HttpRequestMethod} {HttpRequestPath}", context.Request.Method, context.Request.Path);

            context.Response.Clear();
            if (exception is TooManyAttemptsException throttled)
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(throttled.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            else if (exception is ServerBusyException)
                context.Response.Headers.RetryAfter = "1";
            await WriteErrorAsync(context, status, message);
        }
    }

    public static (int Status, string Message) Map(Exception exception) => exception switch
    {
        ValidationException e => (StatusCodes.Status400BadRequest, DescribeValidation(e)),
        Application.Events.PayloadValidationException e => (StatusCodes.Status400BadRequest, e.Message),
        Application.Events.PayloadTooLargeException e => (StatusCodes.Status413PayloadTooLarge, e.Message),
        DomainException e => (StatusCodes.Status400BadRequest, e.Message),
        Seq.Application.Filtering.FilterSyntaxException e => (StatusCodes.Status400BadRequest, e.Message),
        NotFoundException e => (StatusCodes.Status404NotFound, e.Message),
        AuthenticationRequiredException e => (StatusCodes.Status401Unauthorized, e.Message),
        AccessDeniedException e => (StatusCodes.Status403Forbidden, e.Message),
        TooManyAttemptsException e => (StatusCodes.Status429TooManyRequests, e.Message),
        ServerBusyException e => (StatusCodes.Status503ServiceUnavailable, e.Message),
        AuditUnavailableException e => (StatusCodes.Status503ServiceUnavailable, e.Message),
        ConcurrencyException e => (StatusCodes.Status409Conflict, e.Message),
        UniquenessConflictException e => (StatusCodes.Status409Conflict, e.Message),
        BadHttpRequestException e => (e.StatusCode, DescribeBadRequest(e.StatusCode)),
        // A value PostgreSQL cannot store (a NUL character, say) is the request's fault, whatever field carried it.
        PostgresException { SqlState: PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter } =>
            (StatusCodes.Status400BadRequest, "The request contains characters that cannot be stored, such as NUL."),
        // Text that no encoding can carry (an unpaired UTF-16 surrogate) came from the request, whichever layer noticed.
        System.Text.EncoderFallbackException or System.Text.DecoderFallbackException =>
            (StatusCodes.Status400BadRequest, "The request contains text that is not valid Unicode, such as an unpaired UTF-16 surrogate."),
        // Not a statement PostgreSQL refused, but no PostgreSQL to ask: the node cannot serve until it is back.
        NpgsqlException and not PostgresException => (StatusCodes.Status503ServiceUnavailable, "The database is not available; try again shortly."),
        _ => (StatusCodes.Status500InternalServerError, "An unexpected error occurred while handling the request; the details have been logged on the server."),
    };

    public static Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ErrorBody(message), ErrorBody.JsonOptions);
    }

    static string DescribeValidation(ValidationException e)
    {
        var messages = e.Errors.Select(f => f.ErrorMessage).Distinct().ToArray();
        return messages.Length == 0 ? "The request is not valid." : string.Join(" ", messages);
    }

    // Every body the API reads is JSON, so a 415 (missing or other Content-Type) can say exactly what to send.
    const string UnsupportedMediaType = "The request body must be JSON: send Content-Type: application/json.";

    static string DescribeBadRequest(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "The request could not be read: the body must be well-formed JSON of the expected shape, and route and query values must have the expected types.",
        StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaType,
        _ => DescribeStatus(status),
    };

    /// <summary>The message for a status reached without an exception to describe it: a status code page, or a refusal by Kestrel itself.</summary>
    public static string DescribeStatus(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "The request is malformed: its request line, address or headers could not be read.",
        StatusCodes.Status404NotFound => "No resource exists at this address.",
        StatusCodes.Status405MethodNotAllowed => "This resource does not support the request's HTTP method.",
        StatusCodes.Status408RequestTimeout => "The request did not arrive in time.",
        StatusCodes.Status413PayloadTooLarge => "The request body is too large.",
        StatusCodes.Status414UriTooLong => "The request's address is too long.",
        StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaType,
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "The request has too many headers, or headers too large.",
        StatusCodes.Status505HttpVersionNotsupported => "The request's HTTP version is not supported.",
        _ => "The request could not be completed.",
    };
}

/// <summary>The body of every error response. Its shape is fixed here, whatever the host's JSON naming policy.</summary>
sealed record ErrorBody(string Error)
{
    public static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = null };
}

using System.Text.Json;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Api.Hosting;
using Seq.Application.Auditing;
using Seq.Application.EventSourcing;
using Seq.Application.Events;
using Seq.Application.Filtering;
using Seq.Application.Security;
using Seq.Application.Pipeline;
using Seq.Domain;

namespace Seq.Tests.Hosting;

public sealed class ErrorMappingTests
{
    static async Task<(int Status, string Error)> RespondToAsync(Exception thrown) => (await RespondWithHeadersAsync(thrown)).Result;

    static async Task<((int Status, string Error) Result, IHeaderDictionary Headers)> RespondWithHeadersAsync(Exception thrown, ILogger<ErrorMapping>? logger = null)
    {
        var context = new DefaultHttpContext();
        context.Response.Body = new MemoryStream();
        context.Response.Headers["X-Left-By-The-Endpoint"] = "stale";
        var mapping = new ErrorMapping(_ => throw thrown, logger ?? NullLogger<ErrorMapping>.Instance);

        await mapping.InvokeAsync(context);

        context.Response.Body.Position = 0;
        using var body = await JsonDocument.ParseAsync(context.Response.Body);
        return ((context.Response.StatusCode, body.RootElement.GetProperty("Error").GetString()!), context.Response.Headers);
    }

    /// <summary>Keeps what was logged, at which level, with which exception.</summary>
    sealed class RecordingLogger : ILogger<ErrorMapping>
    {
        public List<(LogLevel Level, Exception? Exception, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, exception, formatter(state, exception)));
    }

    [Fact]
    public async Task Each_kind_of_failure_gets_its_status_and_an_error_body()
    {
        (await RespondToAsync(new ValidationException([new ValidationFailure("Value", "Value is bad.")]))).ShouldBe((400, "Value is bad."));
        (await RespondToAsync(new DomainException("Rule broken."))).ShouldBe((400, "Rule broken."));
        (await RespondToAsync(new NotFoundException("No such thing."))).Status.ShouldBe(404);
        (await RespondToAsync(new ConcurrencyException("s-1", 3))).Status.ShouldBe(409);
        (await RespondToAsync(new UniquenessConflictException())).Status.ShouldBe(409);
        (await RespondToAsync(new BadHttpRequestException("x", 413))).Status.ShouldBe(413);
        // The texts are fixed: the exception's own (a driver's or the runtime's) is never repeated to the client.
        const string Unstorable = "The request contains characters that cannot be stored, such as NUL.";
        const string NotUnicode = "The request contains text that is not valid Unicode, such as an unpaired UTF-16 surrogate.";
        const string Unexpected = "An unexpected error occurred while handling the request; the details have been logged on the server.";
        (await RespondToAsync(new Npgsql.PostgresException("invalid byte sequence", "ERROR", "ERROR", Npgsql.PostgresErrorCodes.CharacterNotInRepertoire))).ShouldBe((400, Unstorable));
        (await RespondToAsync(new Npgsql.PostgresException("no equivalent", "ERROR", "ERROR", Npgsql.PostgresErrorCodes.UntranslatableCharacter))).ShouldBe((400, Unstorable));
        (await RespondToAsync(new System.Text.EncoderFallbackException("Unable to translate Unicode character \\uD800"))).ShouldBe((400, NotUnicode));
        (await RespondToAsync(new System.Text.DecoderFallbackException("Unable to translate bytes [ED]"))).ShouldBe((400, NotUnicode));
        (await RespondToAsync(new Npgsql.PostgresException("deadlock detected", "ERROR", "ERROR", Npgsql.PostgresErrorCodes.DeadlockDetected))).ShouldBe((500, Unexpected));
        (await RespondToAsync(new InvalidOperationException("secret detail"))).ShouldBe((500, Unexpected));
    }

    [Fact]
    public async Task Each_refusal_is_answered_with_its_own_status_and_the_message_it_was_raised_with()
    {
        (await RespondToAsync(new PayloadValidationException("no @t", 3))).ShouldBe((400, "Payload validation failed: no @t (line 3)."));
        (await RespondToAsync(new PayloadTooLargeException(1000))).ShouldBe((413, new PayloadTooLargeException(1000).Message));
        (await RespondToAsync(new FilterSyntaxException("unexpected )", 7))).ShouldBe((400, new FilterSyntaxException("unexpected )", 7).Message));
        (await RespondToAsync(new NotFoundException("No such thing."))).ShouldBe((404, "No such thing."));
        (await RespondToAsync(new AuthenticationRequiredException("Log in first."))).ShouldBe((401, "Log in first."));
        (await RespondToAsync(new AccessDeniedException("Not yours."))).ShouldBe((403, "Not yours."));
        (await RespondToAsync(new TooManyAttemptsException(TimeSpan.FromSeconds(30)))).ShouldBe((429, "Too many failed login attempts; try again later."));
        (await RespondToAsync(new ServerBusyException("Busy hashing."))).ShouldBe((503, "Busy hashing."));
        (await RespondToAsync(new AuditUnavailableException())).ShouldBe((503, new AuditUnavailableException().Message));
        (await RespondToAsync(new ConcurrencyException("s-1", 3))).ShouldBe((409, new ConcurrencyException("s-1", 3).Message));
        (await RespondToAsync(new UniquenessConflictException())).ShouldBe((409, new UniquenessConflictException().Message));
        (await RespondToAsync(new Npgsql.PostgresException("x", "ERROR", "ERROR", Npgsql.PostgresErrorCodes.UntranslatableCharacter))).Status.ShouldBe(400);
        var unavailable = await RespondToAsync(new Npgsql.NpgsqlException("Failed to connect to 10.0.0.5:5432 with Password=hunter2"));
        unavailable.ShouldBe((503, "The database is not available; try again shortly."));
    }

    [Fact]
    public async Task A_validation_failure_lists_each_distinct_message_once_and_an_empty_one_still_says_the_request_is_not_valid()
    {
        (await RespondToAsync(new ValidationException([
            new ValidationFailure("A", "Name is required."), new ValidationFailure("B", "Name is required."), new ValidationFailure("C", "Port is out of range."),
        ]))).ShouldBe((400, "Name is required. Port is out of range."));
        (await RespondToAsync(new ValidationException("ignored", []))).ShouldBe((400, "The request is not valid."));
    }

    [Fact]
    public async Task A_request_the_binder_could_not_read_is_told_what_to_send_and_other_statuses_are_described()
    {
        var unreadable = await RespondToAsync(new BadHttpRequestException("Failed to read parameter \"Body\" from the request body as JSON.", 400));
        unreadable.Status.ShouldBe(400);
        unreadable.Error.ShouldContain("well-formed JSON");
        unreadable.Error.ShouldNotContain("parameter");
        (await RespondToAsync(new BadHttpRequestException("x", 415))).ShouldBe((415, "The request body must be JSON: send Content-Type: application/json."));
        (await RespondToAsync(new BadHttpRequestException("x", 413))).ShouldBe((413, "The request body is too large."));
        (await RespondToAsync(new BadHttpRequestException("x", 408))).ShouldBe((408, "The request did not arrive in time."));
    }

    [Fact]
    public void Every_status_Kestrel_or_routing_can_answer_by_itself_has_its_own_description()
    {
        int[] statuses = [400, 404, 405, 408, 413, 414, 415, 431, 505];
        var descriptions = statuses.Select(ErrorMapping.DescribeStatus).ToList();

        descriptions.ShouldAllBe(d => d.Length > 20 && d != "The request could not be completed.");
        descriptions.Distinct().Count().ShouldBe(statuses.Length);
        ErrorMapping.DescribeStatus(404).ShouldContain("No resource");
        ErrorMapping.DescribeStatus(405).ShouldContain("method");
        ErrorMapping.DescribeStatus(414).ShouldContain("address is too long");
        ErrorMapping.DescribeStatus(431).ShouldContain("headers");
        ErrorMapping.DescribeStatus(505).ShouldContain("HTTP version");
        ErrorMapping.DescribeStatus(418).ShouldBe("The request could not be completed.");
    }

    [Fact]
    public async Task A_throttled_login_says_when_to_retry_in_whole_seconds_rounded_up_and_at_least_one()
    {
        (await RespondWithHeadersAsync(new TooManyAttemptsException(TimeSpan.FromSeconds(29.2)))).Headers.RetryAfter.ToString().ShouldBe("30");
        (await RespondWithHeadersAsync(new TooManyAttemptsException(TimeSpan.FromMilliseconds(10)))).Headers.RetryAfter.ToString().ShouldBe("1");
        (await RespondWithHeadersAsync(new TooManyAttemptsException(TimeSpan.Zero))).Headers.RetryAfter.ToString().ShouldBe("1");
        (await RespondWithHeadersAsync(new ServerBusyException("Busy."))).Headers.RetryAfter.ToString().ShouldBe("1");
        var refused = await RespondWithHeadersAsync(new AccessDeniedException("No."));
        refused.Headers.ContainsKey("Retry-After").ShouldBeFalse();
        // The response is replaced whole: nothing the endpoint had set before it failed goes out with the error.
        refused.Headers.ContainsKey("X-Left-By-The-Endpoint").ShouldBeFalse();
        refused.Headers.ContentType.ToString().ShouldStartWith("application/json");
    }

    [Fact]
    public async Task Only_an_unexpected_failure_is_logged_with_its_exception_and_a_refusal_is_not()
    {
        var logger = new RecordingLogger();
        var unexpected = new InvalidOperationException("internal detail");
        await RespondWithHeadersAsync(unexpected, logger);
        await RespondWithHeadersAsync(new AccessDeniedException("No."), logger);
        await RespondWithHeadersAsync(new NotFoundException("None."), logger);

        logger.Entries.Count.ShouldBe(1);
        logger.Entries[0].Level.ShouldBe(LogLevel.Error);
        logger.Entries[0].Exception.ShouldBeSameAs(unexpected);
    }

    [Fact]
    public async Task A_request_the_client_abandoned_is_not_answered_and_one_cancelled_otherwise_is_an_error()
    {
        using var aborted = new CancellationTokenSource();
        await aborted.CancelAsync();
        var gone = new DefaultHttpContext { RequestAborted = aborted.Token };
        gone.Response.Body = new MemoryStream();
        await new ErrorMapping(_ => throw new OperationCanceledException(aborted.Token), NullLogger<ErrorMapping>.Instance).InvokeAsync(gone);
        gone.Response.Body.Length.ShouldBe(0);
        gone.Response.StatusCode.ShouldBe(200);

        // A cancellation the client did not cause (a timeout inside the server) is the server's failure, and answered.
        (await RespondToAsync(new OperationCanceledException())).Status.ShouldBe(500);
    }

    [Fact]
    public async Task A_failure_after_the_response_has_started_is_not_answered_twice()
    {
        var context = new DefaultHttpContext();
        var started = new StartedResponseFeature();
        context.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>(started);
        var mapping = new ErrorMapping(_ => throw new AccessDeniedException("late"), NullLogger<ErrorMapping>.Instance);

        await Should.ThrowAsync<AccessDeniedException>(() => mapping.InvokeAsync(context));
        started.StatusCode.ShouldBe(200);
    }

    sealed class StartedResponseFeature : Microsoft.AspNetCore.Http.Features.HttpResponseFeature
    {
        public override bool HasStarted => true;
    }

    [Fact]
    public async Task An_unexpected_error_is_a_500_that_reveals_nothing_of_it()
    {
        var (status, error) = await RespondToAsync(new InvalidOperationException("connection string Password=hunter2 at Seq.Secret.Internals"));

        status.ShouldBe(500);
        error.ShouldNotContain("hunter2");
        error.ShouldNotContain("Seq.Secret");
        error.ShouldNotContain("InvalidOperationException");
    }

    [Fact]
    public void Server_options_never_print_the_connection_string_or_the_key()
    {
        var key = Seq.Infrastructure.Security.SecretKey.Generate();
        var options = new ServerOptions("Host=/run/pg;Username=postgres;Password=hunter2-db", ["http://localhost:5341"], key);

        options.ToString().ShouldNotContain("hunter2-db");
        options.ToString().ShouldNotContain(key.ToBase64());
        options.ToString().ShouldContain("localhost:5341");
    }
}

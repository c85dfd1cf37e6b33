using System.Text.Json;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Api.Hosting;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Domain;

namespace Seq.Tests.Hosting;

public sealed class ErrorMappingTests
{
    static async Task<(int Status, string Error)> RespondToAsync(Exception thrown)
    {
        var context = new DefaultHttpContext();
        context.Response.Body = new MemoryStream();
        var mapping = new ErrorMapping(_ => throw thrown, NullLogger<ErrorMapping>.Instance);

        await mapping.InvokeAsync(context);

        context.Response.Body.Position = 0;
        using var body = await JsonDocument.ParseAsync(context.Response.Body);
        return (context.Response.StatusCode, body.RootElement.GetProperty("Error").GetString()!);
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
        (await RespondToAsync(new Npgsql.PostgresException("invalid byte sequence", "ERROR", "ERROR", Npgsql.PostgresErrorCodes.CharacterNotInRepertoire))).Status.ShouldBe(400);
        (await RespondToAsync(new System.Text.EncoderFallbackException("Unable to translate Unicode character \\uD800"))).Status.ShouldBe(400);
        (await RespondToAsync(new System.Text.DecoderFallbackException("Unable to translate bytes [ED]"))).Status.ShouldBe(400);
        (await RespondToAsync(new Npgsql.PostgresException("deadlock detected", "ERROR", "ERROR", Npgsql.PostgresErrorCodes.DeadlockDetected))).Status.ShouldBe(500);
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

using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Seq.Application;
using Seq.Application.Auditing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Tests.Auditing;

namespace Seq.Tests.Pipeline;

[Demands(Permission.Write)]
public sealed record WriteProbeCommand : IRequest<string>;

[Demands(Permission.Read, User = true)]
public sealed record UserProbeCommand : IRequest<string>;

public sealed record UndeclaredProbeCommand : IRequest<string>;

public sealed class ProbeRuns
{
    public int Count { get; set; }
}

public sealed class AuthorizationProbeHandler(ProbeRuns runs)
    : IRequestHandler<WriteProbeCommand, string>, IRequestHandler<UserProbeCommand, string>, IRequestHandler<UndeclaredProbeCommand, string>
{
    public Task<string> Handle(WriteProbeCommand request, CancellationToken cancellationToken) => Ran();
    public Task<string> Handle(UserProbeCommand request, CancellationToken cancellationToken) => Ran();
    public Task<string> Handle(UndeclaredProbeCommand request, CancellationToken cancellationToken) => Ran();

    Task<string> Ran()
    {
        runs.Count++;
        return Task.FromResult("ran");
    }
}

/// <summary>
/// The authorization check as the real MediatR pipeline applies it (the application's own registrations, no server):
/// a refused request never reaches its handler.
/// </summary>
public sealed class PipelineAuthorizationTests
{
    readonly ProbeRuns _runs = new();

    static Principal User(params Permission[] permissions) => new(PrincipalType.User, "alice", "user-alice", null, permissions.ToHashSet());
    static Principal SharedKey(params Permission[] permissions) => new(PrincipalType.ApiKey, "robot", "apikey-robot", null, permissions.ToHashSet());

    async Task<Exception?> SendAsync(IRequest<string> request, Principal principal)
    {
        var services = new ServiceCollection();
        services.AddApplication();
        services.AddSingleton(_runs);
        services.AddSingleton<IAuditLog>(new RecordingAuditLog());
        services.AddTransient<IRequestHandler<WriteProbeCommand, string>, AuthorizationProbeHandler>();
        services.AddTransient<IRequestHandler<UserProbeCommand, string>, AuthorizationProbeHandler>();
        services.AddTransient<IRequestHandler<UndeclaredProbeCommand, string>, AuthorizationProbeHandler>();
        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<OperationContext>().Principal = principal;
        try
        {
            (await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request)).ShouldBe("ran");
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    [Fact]
    public async Task A_request_its_caller_may_not_make_is_refused_before_its_handler_runs()
    {
        (await SendAsync(new WriteProbeCommand(), Principal.Anonymous)).ShouldBeOfType<AuthenticationRequiredException>();
        (await SendAsync(new WriteProbeCommand(), User(Permission.Read))).ShouldBeOfType<AccessDeniedException>()
            .Message.ShouldBe("This operation needs the Write permission, which the caller does not hold.");
        (await SendAsync(new UserProbeCommand(), SharedKey(Enum.GetValues<Permission>()))).ShouldBeOfType<AccessDeniedException>();
        _runs.Count.ShouldBe(0);

        (await SendAsync(new WriteProbeCommand(), User(Permission.Write))).ShouldBeNull();
        (await SendAsync(new UserProbeCommand(), User(Permission.Read))).ShouldBeNull();
        _runs.Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_request_that_declares_no_permission_is_refused_whoever_asks()
    {
        var error = (await SendAsync(new UndeclaredProbeCommand(), User(Enum.GetValues<Permission>()))).ShouldBeOfType<InvalidOperationException>();
        error.Message.ShouldBe("UndeclaredProbeCommand declares no permission ([Demands]), so it is refused.");
        _runs.Count.ShouldBe(0);
    }

    [Fact]
    public void Each_operation_gets_a_correlation_id_of_its_own()
    {
        var first = new OperationContext().CorrelationId;
        var second = new OperationContext().CorrelationId;
        first.ShouldMatch("^[0-9a-f]{32}$");
        second.ShouldMatch("^[0-9a-f]{32}$");
        first.ShouldNotBe(second);
    }
}

using FluentValidation;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Seq.Application;
using Seq.Application.Auditing;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain;

namespace Seq.Tests.Auditing;

[Demands(Seq.Domain.Security.Permission.Public)]
[Audited("Probe", "Outcome")]
public sealed record OutcomeProbeCommand([property: AuditProperty] int Value) : IRequest<string>;

[Demands(Seq.Domain.Security.Permission.Public)]
[Audited("Probe", "Instant", Single = true)]
public sealed record InstantProbeCommand([property: AuditProperty] int Value) : IRequest<string>;

/// <summary>What the probe handlers do: throw, or mark the operation's append as sent or committed first.</summary>
public sealed class OutcomeScript
{
    public Exception? Throw { get; set; }
    public OperationEffect Effect { get; set; }
    public int HandlerRuns { get; set; }
}

public sealed class OutcomeProbeHandler(OutcomeScript script, OperationContext operation)
    : IRequestHandler<OutcomeProbeCommand, string>, IRequestHandler<InstantProbeCommand, string>
{
    public Task<string> Handle(OutcomeProbeCommand request, CancellationToken cancellationToken) => Run(request.Value);

    public Task<string> Handle(InstantProbeCommand request, CancellationToken cancellationToken) => Run(request.Value);

    async Task<string> Run(int value)
    {
        await Task.Yield();
        script.HandlerRuns++;
        if (script.Effect != OperationEffect.None)
            operation.AppendSending();
        if (script.Effect == OperationEffect.Committed)
            operation.AppendCommitted();
        return script.Throw is { } e ? throw e : $"ran {value}";
    }
}

/// <summary>An audit log kept in memory, that can be off or refuse the opening event the way the real one does.</summary>
public sealed class RecordingAuditLog : IAuditLog
{
    public List<AuditEntry> Entries { get; } = [];
    public bool Enabled { get; set; } = true;
    public Exception? RefuseOpening { get; set; }

    public bool IsEnabled => Enabled;

    public Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        if (entry.IsBlocking && RefuseOpening is { } refusal)
            return Task.FromException(refusal);
        Entries.Add(entry);
        return Task.CompletedTask;
    }
}

/// <summary>The audit pipeline's choice of closing event, in process, for every way a request can end.</summary>
public sealed class AuditBehaviourTests
{
    readonly OutcomeScript _script = new();
    readonly RecordingAuditLog _audit = new();

    async Task<(string? Result, Exception? Error, OperationContext Operation)> SendAsync(IRequest<string> request)
    {
        var services = new ServiceCollection();
        services.AddApplication();
        services.AddSingleton(_script);
        services.AddSingleton<IAuditLog>(_audit);
        services.AddTransient<IRequestHandler<OutcomeProbeCommand, string>, OutcomeProbeHandler>();
        services.AddTransient<IRequestHandler<InstantProbeCommand, string>, OutcomeProbeHandler>();
        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var operation = scope.ServiceProvider.GetRequiredService<OperationContext>();
        try
        {
            return (await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request), null, operation);
        }
        catch (Exception e)
        {
            return (null, e, operation);
        }
    }

    public static TheoryData<string> Rejections => new()
    {
        nameof(ValidationException), nameof(DomainException), nameof(AccessDeniedException), nameof(AuthenticationRequiredException),
        nameof(NotFoundException), nameof(ConcurrencyException), nameof(UniquenessConflictException), nameof(TooManyAttemptsException),
        nameof(ServerBusyException), nameof(OperationCanceledException),
    };

    static Exception Rejection(string name) => name switch
    {
        nameof(ValidationException) => new ValidationException("invalid"),
        nameof(DomainException) => new DomainException("not allowed by the domain"),
        nameof(AccessDeniedException) => new AccessDeniedException("denied"),
        nameof(AuthenticationRequiredException) => new AuthenticationRequiredException(),
        nameof(NotFoundException) => new NotFoundException("missing"),
        nameof(ConcurrencyException) => new ConcurrencyException("stream-1", 3),
        nameof(UniquenessConflictException) => new UniquenessConflictException(),
        nameof(TooManyAttemptsException) => new TooManyAttemptsException(TimeSpan.FromSeconds(5)),
        nameof(ServerBusyException) => new ServerBusyException("busy"),
        _ => new OperationCanceledException("client left"),
    };

    [Fact]
    public async Task A_successful_operation_begins_before_its_handler_and_completes_with_the_same_operation_id()
    {
        var (result, error, operation) = await SendAsync(new OutcomeProbeCommand(7));

        error.ShouldBeNull();
        result.ShouldBe("ran 7");
        _audit.Entries.Select(e => e.Event).ShouldBe([AuditEventKind.Begin, AuditEventKind.Complete]);
        _audit.Entries.Select(e => e.OperationId).Distinct().ShouldHaveSingleItem().ToString().ShouldBe(operation.AuditOperationId);
        _audit.Entries[0].Properties.ShouldBe([new("Value", 7)]);
        _audit.Entries[1].Properties.ShouldBe([new("Value", 7)]);
    }

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task A_refusal_before_any_append_is_an_abandon_with_its_reason(string rejection)
    {
        var thrown = Rejection(rejection);
        _script.Throw = thrown;

        var (_, error, _) = await SendAsync(new OutcomeProbeCommand(1));

        error.ShouldBeSameAs(thrown);
        _audit.Entries.Select(e => e.Event).ShouldBe([AuditEventKind.Begin, AuditEventKind.Abandon]);
        _audit.Entries[1].Exception.ShouldBe($"{thrown.GetType().FullName}: {thrown.Message}");
        _audit.Entries[1].OperationId.ShouldBe(_audit.Entries[0].OperationId);
    }

    [Fact]
    public async Task A_failure_that_is_not_a_refusal_is_a_fail_with_the_whole_exception()
    {
        var thrown = new InvalidOperationException("broken");
        _script.Throw = thrown;

        var (_, error, _) = await SendAsync(new OutcomeProbeCommand(1));

        error.ShouldBeSameAs(thrown);
        _audit.Entries.Select(e => e.Event).ShouldBe([AuditEventKind.Begin, AuditEventKind.Fail]);
        _audit.Entries[1].MessageTemplate.ShouldBe("Probe Outcome failed");
        // The whole exception, with where it was thrown, unlike an abandon's one-line reason.
        _audit.Entries[1].Exception!.ShouldStartWith("System.InvalidOperationException: broken");
        _audit.Entries[1].Exception!.ShouldContain(nameof(OutcomeProbeHandler));
    }

    [Theory]
    [InlineData(OperationEffect.Committed, "Probe Outcome failed after its change was committed")]
    [InlineData(OperationEffect.Uncertain, "Probe Outcome failed and its change may have been committed")]
    public async Task A_refusal_after_an_append_was_sent_is_a_fail_that_says_what_may_have_changed(OperationEffect effect, string template)
    {
        _script.Effect = effect;
        _script.Throw = new AccessDeniedException("too late");

        await SendAsync(new OutcomeProbeCommand(1));

        _audit.Entries.Select(e => e.Event).ShouldBe([AuditEventKind.Begin, AuditEventKind.Fail]);
        _audit.Entries[1].MessageTemplate.ShouldBe(template);
        _audit.Entries[1].Properties.ShouldBe([new("Effect", effect.ToString())]);
    }

    [Fact]
    public async Task With_auditing_off_the_handler_runs_and_nothing_is_written()
    {
        _audit.Enabled = false;

        var (result, _, operation) = await SendAsync(new OutcomeProbeCommand(2));

        result.ShouldBe("ran 2");
        _audit.Entries.ShouldBeEmpty();
        operation.AuditOperationId.ShouldBeNull();
    }

    [Fact]
    public async Task An_opening_event_that_took_its_place_but_did_not_become_durable_is_abandoned_and_nothing_runs()
    {
        _audit.RefuseOpening = new AuditUnavailableException();

        var (_, error, _) = await SendAsync(new OutcomeProbeCommand(1));

        error.ShouldBeOfType<AuditUnavailableException>();
        _script.HandlerRuns.ShouldBe(0);
        _audit.Entries.Select(e => e.Event).ShouldBe([AuditEventKind.Abandon]);
    }

    [Fact]
    public async Task A_client_that_leaves_while_its_opening_event_is_pending_gets_an_abandon_and_nothing_runs()
    {
        _audit.RefuseOpening = new OperationCanceledException();

        var (_, error, _) = await SendAsync(new OutcomeProbeCommand(1));

        error.ShouldBeOfType<OperationCanceledException>();
        _script.HandlerRuns.ShouldBe(0);
        _audit.Entries.Select(e => e.Event).ShouldBe([AuditEventKind.Abandon]);
    }

    [Fact]
    public async Task An_opening_event_refused_before_it_was_queued_has_nothing_to_close_and_nothing_runs()
    {
        _audit.RefuseOpening = new AuditUnavailableException { OpeningRecorded = false };

        var (_, error, _) = await SendAsync(new OutcomeProbeCommand(1));

        error.ShouldBeOfType<AuditUnavailableException>();
        _script.HandlerRuns.ShouldBe(0);
        _audit.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_single_operation_is_one_record_whether_it_succeeds_or_fails()
    {
        (await SendAsync(new InstantProbeCommand(4))).Result.ShouldBe("ran 4");
        _script.Throw = new InvalidOperationException("broken");
        (await SendAsync(new InstantProbeCommand(5))).Error.ShouldBeOfType<InvalidOperationException>();

        _audit.Entries.Select(e => e.Event).ShouldBe([AuditEventKind.Record, AuditEventKind.Record]);
    }
}

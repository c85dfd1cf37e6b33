using FluentValidation;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Seq.Application;

namespace Seq.Tests.Pipeline;

[Seq.Application.Security.Demands(Seq.Domain.Security.Permission.Public)]
[Seq.Application.Auditing.Audited("Probe", "Run")]
public sealed record ProbeCommand([property: Seq.Application.Auditing.AuditProperty] int Value) : IRequest<string>;

public sealed class ProbeValidator : AbstractValidator<ProbeCommand>
{
    public ProbeValidator() => RuleFor(c => c.Value).GreaterThan(0).WithMessage("Value must be positive.");
}

public sealed class ProbeLog
{
    public List<string> Steps { get; } = [];
}

public sealed class ProbeHandler(ProbeLog log) : IRequestHandler<ProbeCommand, string>
{
    public Task<string> Handle(ProbeCommand request, CancellationToken cancellationToken)
    {
        log.Steps.Add("handler");
        return Task.FromResult($"handled {request.Value}");
    }
}

public sealed class InnerProbeBehaviour(ProbeLog log) : IPipelineBehavior<ProbeCommand, string>
{
    public async Task<string> Handle(ProbeCommand request, CancellationToken cancellationToken, RequestHandlerDelegate<string> next)
    {
        log.Steps.Add("inner behaviour");
        return await next();
    }
}

/// <summary>An audit log that notes each event in the same step log as the behaviours and the handler.</summary>
public sealed class StepAuditLog(ProbeLog log) : Seq.Application.Auditing.IAuditLog
{
    public bool IsEnabled => true;

    public Task WriteAsync(Seq.Application.Auditing.AuditEntry entry, CancellationToken cancellationToken)
    {
        log.Steps.Add($"audit {entry.Event}");
        return Task.CompletedTask;
    }
}

public sealed class PipelineTests
{
    static IServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.AddApplication();
        services.AddSingleton<ProbeLog>();
        services.AddScoped<Seq.Application.Auditing.IAuditLog, StepAuditLog>();
        services.AddTransient<IPipelineBehavior<ProbeCommand, string>, InnerProbeBehaviour>();
        DependencyInjection.RegisterClosedImplementations(services, typeof(PipelineTests).Assembly, typeof(IRequestHandler<,>));
        services.AddValidatorsFromAssembly(typeof(PipelineTests).Assembly, ServiceLifetime.Transient, includeInternalTypes: true);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
    }

    [Fact]
    public async Task A_valid_request_is_audited_first_passes_the_declared_behaviours_in_order_and_reaches_its_handler()
    {
        var provider = Build();
        using var scope = provider.CreateScope();

        var result = await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new ProbeCommand(3));

        result.ShouldBe("handled 3");
        provider.GetRequiredService<ProbeLog>().Steps.ShouldBe(["audit Begin", "inner behaviour", "handler", "audit Complete"]);
    }

    [Fact]
    public async Task A_validation_failure_stops_the_request_before_any_later_behaviour_or_its_handler_and_is_abandoned_in_the_audit_log()
    {
        var provider = Build();
        using var scope = provider.CreateScope();

        var failure = await Should.ThrowAsync<ValidationException>(() => scope.ServiceProvider.GetRequiredService<IMediator>().Send(new ProbeCommand(0)));

        failure.Errors.Single().ErrorMessage.ShouldBe("Value must be positive.");
        provider.GetRequiredService<ProbeLog>().Steps.ShouldBe(["audit Begin", "audit Abandon"]);
    }

    [Fact]
    public void Every_request_in_the_application_has_exactly_one_handler()
    {
        var requestTypes = typeof(DependencyInjection).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRequest<>)));
        var handled = typeof(DependencyInjection).Assembly.GetTypes()
            .SelectMany(t => t.GetInterfaces())
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRequestHandler<,>))
            .Select(i => i.GetGenericArguments()[0])
            .ToList();

        requestTypes.ShouldNotBeEmpty();
        foreach (var request in requestTypes)
            handled.Count(h => h == request).ShouldBe(1, request.Name);
    }

    [Fact]
    public void Every_validator_in_the_application_is_registered_once_against_the_type_it_validates()
    {
        var services = new ServiceCollection();
        services.AddApplication();
        var validators = typeof(DependencyInjection).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && !t.IsGenericTypeDefinition)
            .SelectMany(t => t.GetInterfaces().Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IValidator<>)).Select(i => (Type: t, Contract: i)))
            .ToList();

        validators.ShouldNotBeEmpty();
        foreach (var (type, contract) in validators)
        {
            var registered = services.Where(d => d.ServiceType == contract && d.ImplementationType == type).ToList();
            registered.Count.ShouldBe(1, type.Name);
            registered[0].Lifetime.ShouldBe(ServiceLifetime.Transient, type.Name);
        }
    }
}

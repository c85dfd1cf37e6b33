using System.Reflection;
using FluentValidation;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Seq.Application.Pipeline;
using Seq.Application.Security;

namespace Seq.Application;

public static class DependencyInjection
{
    /// <summary>
    /// The behaviours every request passes through, outermost first. MediatR 5 composes
    /// <c>IEnumerable&lt;IPipelineBehavior&gt;</c> so that the first registered runs first; this array is the one
    /// place that order is decided.
    /// <list type="number">
    /// <item>Audit: makes Begin/Record durable before anything else runs, and records how the operation ended.</item>
    /// <item>Authorization: the permission the request type demands (<see cref="DemandsAttribute"/>), against the principal.</item>
    /// <item>Validation: FluentValidation validators of the request type.</item>
    /// </list>
    /// </summary>
    public static IReadOnlyList<Type> PipelineBehaviours { get; } =
    [
        typeof(AuditBehaviour<,>),
        typeof(AuthorizationBehaviour<,>),
        typeof(ValidationBehaviour<,>),
    ];

    public static IServiceCollection AddApplication(this IServiceCollection services)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddScoped<OperationContext>();
        services.AddSingleton<Users.PasswordPolicy>();
        services.AddScoped<ServiceFactory>(provider => provider.GetRequiredService);
        services.AddScoped<IMediator, Mediator>();
        services.AddSingleton<Events.IngestionConfiguration>();
        services.AddSingleton<Events.EventIngestion>();
        services.AddScoped<Events.ViewFilters>();
        services.AddSingleton<Filtering.ParsedFilterCache>();

        foreach (var behaviour in PipelineBehaviours)
            services.AddTransient(typeof(IPipelineBehavior<,>), behaviour);

        var assembly = typeof(DependencyInjection).Assembly;
        RegisterClosedImplementations(services, assembly, typeof(IRequestHandler<,>));
        // Transient as before: a validator holds no state, and a scoped one would outlive nothing here.
        services.AddValidatorsFromAssembly(assembly, ServiceLifetime.Transient, includeInternalTypes: true);
        return services;
    }

    /// <summary>Registers every concrete type in <paramref name="assembly"/> against each closed form of <paramref name="openInterface"/> it implements.</summary>
    public static void RegisterClosedImplementations(IServiceCollection services, Assembly assembly, Type openInterface)
    {
        foreach (var type in assembly.GetTypes())
        {
            if (type.IsAbstract || type.IsInterface || type.IsGenericTypeDefinition)
                continue;

            foreach (var contract in type.GetInterfaces())
            {
                if (contract.IsGenericType && contract.GetGenericTypeDefinition() == openInterface)
                    services.AddTransient(contract, type);
            }
        }
    }
}

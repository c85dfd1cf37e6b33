using System.Reflection;
using MediatR;
using Seq.Application.Security;

namespace Seq.Tests.Architecture;

public sealed class RequestDemandTests
{
    [Fact]
    public void Every_request_type_of_the_application_declares_the_permission_it_demands()
    {
        var requests = typeof(Seq.Application.DependencyInjection).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRequest<>)))
            .ToList();

        requests.Count.ShouldBeGreaterThan(20);
        requests.Where(t => t.GetCustomAttribute<DemandsAttribute>() is null).Select(t => t.Name).ShouldBeEmpty();
    }
}

using System.Reflection;
using Seq.Domain;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// Maps stored event type names to CLR types. A type's name is its stored name, so renaming an event type is a
/// breaking change; a new shape is a new type.
/// </summary>
public sealed class EventTypeRegistry
{
    readonly Dictionary<string, Type> _byName = new(StringComparer.Ordinal);
    readonly Dictionary<Type, string> _byType = [];

    public EventTypeRegistry(IEnumerable<Assembly> assemblies)
    {
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
        {
            if (type.IsAbstract || type.IsInterface || !typeof(IDomainEvent).IsAssignableFrom(type))
                continue;

            if (!_byName.TryAdd(type.Name, type))
                throw new InvalidOperationException($"Two event types share the stored name {type.Name}: {_byName[type.Name].FullName} and {type.FullName}.");
            _byType.Add(type, type.Name);
        }
    }

    public static EventTypeRegistry ForDomain(params Assembly[] more) =>
        new([typeof(IDomainEvent).Assembly, .. more]);

    public string NameOf(Type type) =>
        _byType.TryGetValue(type, out var name) ? name
        : throw new InvalidOperationException($"The event type {type.FullName} is not registered with the event store.");

    public Type TypeOf(string name) =>
        _byName.TryGetValue(name, out var type) ? type
        : throw new InvalidOperationException($"The stored event type {name} is not known to this version of the server.");
}

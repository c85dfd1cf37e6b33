namespace Seq.Domain.Settings;

/// <summary>The instance's settings: one stream, so that every change is ordered and checked against the last.</summary>
public sealed class InstanceSettings : IEventSourced
{
    public const string StreamCategory = "settings";
    public const string StreamId = StreamCategory + "/" + StreamIds.Instance;
    public const string StreamType = "InstanceSettings";

    readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public string ValueOf(SettingDefinition definition) =>
        _values.TryGetValue(definition.Name, out var value) ? value : definition.DefaultValue;

    /// <summary>Decides a change; an unchanged value yields no event, so repeating a command is harmless.</summary>
    public IReadOnlyList<IDomainEvent> Change(SettingDefinition definition, string? value, DateTimeOffset now)
    {
        if (!definition.TryNormalize(value, out var normalized, out var error))
            throw new DomainException(error!);

        var current = ValueOf(definition);
        return current == normalized ? [] : [new SettingChanged(definition.Name, normalized, current, now)];
    }

    public void Apply(IDomainEvent @event)
    {
        switch (@event)
        {
            case SettingChanged e:
                _values[e.Name] = e.Value;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, null);
        }
    }
}

using Seq.Domain.Settings;

namespace Seq.Application.Settings;

/// <summary>A setting as callers see it: its value in canonical text form, typed by <see cref="Kind"/>.</summary>
public sealed record SettingView(string Name, SettingKind Kind, string Value, string Description)
{
    public static SettingView Of(SettingDefinition definition, string? storedValue) =>
        new(definition.Name, definition.Kind, storedValue ?? definition.DefaultValue, definition.Description);
}

/// <summary>The settings projection: the current value of each setting that has ever been changed.</summary>
public interface ISettingsReadModel
{
    Task<IReadOnlyDictionary<string, string>> GetChangedValuesAsync(CancellationToken cancellationToken);
}

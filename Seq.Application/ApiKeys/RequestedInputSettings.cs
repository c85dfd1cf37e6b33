using Seq.Domain.ApiKeys;
using Seq.Domain.Users;

namespace Seq.Application.ApiKeys;

/// <summary>An applied property as a request gives it: its value as text, or a JSON object or array (<see cref="ValueIsScalar"/> false), which validation refuses.</summary>
public sealed record RequestedAppliedProperty(string? Name, string? Value, bool ValueIsScalar = true);

/// <summary>A key's input settings as a request gives them.</summary>
public sealed record RequestedInputSettings(
    IReadOnlyList<RequestedAppliedProperty?>? AppliedProperties, string? MinimumLevel, DescriptiveFilter? Filter, bool UseServerTimestamps)
{
    public static implicit operator RequestedInputSettings?(InputSettings? settings) =>
        settings is null ? null
            : new([.. settings.AppliedProperties.Select(p => new RequestedAppliedProperty(p.Name, p.Value))], settings.MinimumLevel, settings.Filter,
                settings.UseServerTimestamps);

    /// <summary>The settings themselves, once validation has accepted them.</summary>
    public InputSettings ToInputSettings() =>
        new([.. (AppliedProperties ?? []).Select(p => new InputAppliedProperty(p?.Name ?? "", p?.Value))], MinimumLevel, Filter, UseServerTimestamps);
}

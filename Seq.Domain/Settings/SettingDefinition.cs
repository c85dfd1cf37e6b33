using System.Globalization;

namespace Seq.Domain.Settings;

public enum SettingKind
{
    Text,
    Integer,
    Boolean,
    TimeOfDay,
}

/// <summary>
/// One instance setting: its name, the kind of value it holds, its default and the rule a value must satisfy.
/// Values are kept in a canonical invariant text form so that events stay primitive.
/// </summary>
public sealed class SettingDefinition
{
    readonly Func<string, string?> _check;

    SettingDefinition(string name, SettingKind kind, string defaultValue, string description, Func<string, string?> check)
    {
        Name = name;
        Kind = kind;
        DefaultValue = defaultValue;
        Description = description;
        _check = check;
    }

    public string Name { get; }
    public SettingKind Kind { get; }
    public string DefaultValue { get; }
    public string Description { get; }

    /// <summary>
    /// Turns a candidate value into its canonical form, or explains why it is not acceptable. Null stands for the
    /// default, as Seq clients clear a setting by sending it.
    /// </summary>
    public bool TryNormalize(string? candidate, out string normalized, out string? error)
    {
        candidate ??= DefaultValue;
        normalized = "";

        switch (Kind)
        {
            case SettingKind.Integer:
                if (!long.TryParse(candidate, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
                {
                    error = $"{Name} must be a whole number.";
                    return false;
                }
                normalized = number.ToString(CultureInfo.InvariantCulture);
                break;
            case SettingKind.Boolean:
                if (!bool.TryParse(candidate, out var flag))
                {
                    error = $"{Name} must be true or false.";
                    return false;
                }
                normalized = flag ? "true" : "false";
                break;
            case SettingKind.TimeOfDay:
                if (!TimeOnly.TryParseExact(candidate, ["HH:mm", "HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
                {
                    error = $"{Name} must be a time of day written as HH:mm or HH:mm:ss (UTC).";
                    return false;
                }
                normalized = time.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
                break;
            default:
                normalized = candidate.Trim();
                break;
        }

        error = _check(normalized);
        return error is null;
    }

    internal static SettingDefinition Text(string name, string defaultValue, int maximumLength, string description) =>
        new(name, SettingKind.Text, defaultValue, description, value =>
            value.Length > maximumLength ? $"{name} may be at most {maximumLength} characters long."
            : value.Any(char.IsControl) ? $"{name} may not contain control characters."
            : null);

    internal static SettingDefinition Integer(string name, long defaultValue, long minimum, long maximum, string description) =>
        new(name, SettingKind.Integer, defaultValue.ToString(CultureInfo.InvariantCulture), description, value =>
        {
            var number = long.Parse(value, CultureInfo.InvariantCulture);
            return number < minimum || number > maximum ? $"{name} must be between {minimum} and {maximum}." : null;
        });

    internal static SettingDefinition Boolean(string name, bool defaultValue, string description) =>
        new(name, SettingKind.Boolean, defaultValue ? "true" : "false", description, _ => null);

    internal static SettingDefinition TimeOfDay(string name, string defaultValue, string description) =>
        new(name, SettingKind.TimeOfDay, defaultValue, description, _ => null);
}

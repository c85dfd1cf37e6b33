namespace Seq.Domain.Settings;

public sealed record SettingChanged(string Name, string Value, string? PreviousValue, DateTimeOffset ChangedAt) : IDomainEvent;

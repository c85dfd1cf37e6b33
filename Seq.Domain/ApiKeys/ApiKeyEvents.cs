using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Domain.ApiKeys;

// The token itself is never part of an event: only its public prefix, the per-key salt and the keyed hash.
// AssignedPermissions are stored by name (the event serializer writes enums as strings).
public sealed record ApiKeyCreated(
    string ApiKeyId, string Title, string TokenPrefix, byte[] TokenSalt, byte[] TokenHash, IReadOnlyList<Permission> AssignedPermissions,
    string? OwnerId, InputSettings InputSettings, DateTimeOffset CreatedAt) : IDomainEvent;

public sealed record ApiKeyChanged(
    string ApiKeyId, string Title, IReadOnlyList<Permission> AssignedPermissions, InputSettings InputSettings, DateTimeOffset ChangedAt) : IDomainEvent;

public sealed record ApiKeyDeleted(string ApiKeyId, DateTimeOffset DeletedAt) : IDomainEvent;

/// <summary>A property that ingestion adds to every event sent with the key; the value is kept as text, or null.</summary>
public sealed record InputAppliedProperty(string Name, string? Value);

/// <summary>What ingestion does to events sent with a key: properties to add, a minimum level, a filter, and whose clock to trust.</summary>
public sealed record InputSettings(
    IReadOnlyList<InputAppliedProperty> AppliedProperties, string? MinimumLevel, DescriptiveFilter? Filter, bool UseServerTimestamps)
{
    public static InputSettings None { get; } = new([], null, null, false);

    // The generated equality would compare the property list by reference; two settings are the same when their contents are.
    public bool Equals(InputSettings? other) =>
        other is not null
        && AppliedProperties.SequenceEqual(other.AppliedProperties)
        && MinimumLevel == other.MinimumLevel
        && Filter == other.Filter
        && UseServerTimestamps == other.UseServerTimestamps;

    public override int GetHashCode() => HashCode.Combine(AppliedProperties.Count, MinimumLevel, Filter, UseServerTimestamps);
}

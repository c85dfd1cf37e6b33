namespace Seq.Domain.Users;

// PasswordHash is the one-way PBKDF2 string (never a password). PasswordVersion counts password changes.
public sealed record UserCreated(
    string UserId, string Username, string? DisplayName, string? EmailAddress, IReadOnlyList<string> RoleIds,
    DescriptiveFilter? ViewFilter, string PasswordHash, bool MustChangePassword, DateTimeOffset CreatedAt) : IDomainEvent;

public sealed record UserChanged(
    string UserId, string Username, string? DisplayName, string? EmailAddress, IReadOnlyList<string> RoleIds,
    DescriptiveFilter? ViewFilter, bool MustChangePassword, DateTimeOffset ChangedAt) : IDomainEvent;

public sealed record UserPasswordChanged(
    string UserId, string PasswordHash, bool MustChangePassword, int PasswordVersion, PasswordChangeReason Reason, DateTimeOffset ChangedAt) : IDomainEvent;

public sealed record UserDeleted(string UserId, DateTimeOffset DeletedAt) : IDomainEvent;

/// <summary>Why a password hash changed: the user chose a new password, an administrator reset it, or a login upgraded its parameters.</summary>
public enum PasswordChangeReason
{
    ChangedByUser,
    ResetByAdministrator,
    Rehashed,
}

/// <summary>Seq's descriptive filter: a filter expression and how it is shown.</summary>
public sealed record DescriptiveFilter(string? Description, bool DescriptionIsExcluded, string Filter, string? FilterNonStrict);

/// <summary>Whether the instance asks callers who they are; decided once, at the very first start.</summary>
public sealed record AuthenticationConfigured(bool Enabled, string? AdministratorUserId, DateTimeOffset ConfiguredAt) : IDomainEvent;

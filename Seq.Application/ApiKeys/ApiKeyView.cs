using Seq.Domain.ApiKeys;
using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

/// <summary>An API key as callers see it: the token's public prefix, never the token.</summary>
public sealed record ApiKeyView(
    string Id, string Title, string TokenPrefix, IReadOnlyList<Permission> AssignedPermissions, string? OwnerId, InputSettings InputSettings);

using Seq.Domain.Security;

namespace Seq.Application.Security;

/// <summary>
/// The permission a request type demands of its principal. The authorization behaviour refuses a request whose
/// type declares none, so a new request type cannot be unprotected by omission.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class DemandsAttribute(Permission permission) : Attribute
{
    public Permission Permission { get; } = permission;

    /// <summary>The request acts on the caller's own user account, so the caller must be (or act for) a user.</summary>
    public bool User { get; init; }
}

/// <summary>The caller has not shown who they are, and the request needs more than public access (HTTP 401).</summary>
public sealed class AuthenticationRequiredException(string message = "Authentication is required: log in, or send an API key in the X-Seq-ApiKey header.")
    : Exception(message);

/// <summary>The caller is known but may not do this (HTTP 403).</summary>
public sealed class AccessDeniedException(string message) : Exception(message);

/// <summary>Too many recent failures for this account or address; try again after <see cref="RetryAfter"/> (HTTP 429).</summary>
public sealed class TooManyAttemptsException(TimeSpan retryAfter)
    : Exception("Too many failed login attempts; try again later.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>The server is at capacity for an expensive operation such as password hashing (HTTP 503).</summary>
public sealed class ServerBusyException(string message) : Exception(message);

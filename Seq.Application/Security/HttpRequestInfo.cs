namespace Seq.Application.Security;

/// <summary>What auditing and throttling need to know of the HTTP request behind an operation.</summary>
public sealed record HttpRequestInfo(string Method, string Path, string? RemoteIPAddress, IReadOnlyList<string>? XForwardedFor);

using System.Security.Cryptography;
using System.Text;
using Seq.Api.Endpoints;
using Seq.Application.Auditing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Api.Hosting;

/// <summary>
/// Establishes who is calling (API key, session cookie, or nobody), enforces the CSRF token on cookie-authenticated
/// state changes, and checks the permission the endpoint declares, before any endpoint code runs.
/// </summary>
sealed class RequestAuthentication(
    RequestDelegate next, ISecurityDirectory directory, ISessions sessions, InstanceAuthenticationState authentication, RefusalAudit refusals)
{
    public const string ApiKeyHeader = "X-Seq-ApiKey";
    public const string CsrfHeader = "X-Seq-CsrfToken";
    public const string SessionCookie = "Seq-Session";
    const string SessionTokenItem = "Seq.SessionToken";
    public const string ForwardedForItem = "Seq.XForwardedFor";

    // What one request can put into every audit event of its operation, whatever the client sends.
    public const int MaximumRecordedForwardedValues = 8;
    public const int MaximumRecordedValueLength = 256;
    public const int MaximumRecordedPathLength = 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var operation = context.RequestServices.GetRequiredService<OperationContext>();
        operation.CorrelationId = context.TraceIdentifier;
        operation.Http = new HttpRequestInfo(
            context.Request.Method,
            Bounded(context.Request.Path.Value ?? "/", MaximumRecordedPathLength),
            context.Connection.RemoteIpAddress?.ToString(),
            ForwardedFor(context) is { } forwarded ? Bounded(forwarded) : null);

        var endpoint = context.GetEndpoint();
        var demand = endpoint?.Metadata.GetMetadata<DemandsPermission>();
        if (demand is null)
        {
            // No endpoint of ours matched (a 404 or 405 answer follows); every endpoint we map declares a demand.
            await next(context);
            return;
        }

        try
        {
            operation.Principal = await AuthenticateAsync(context, endpoint!);
            Authorization.Check(demand.Permission, demand.User, operation.Principal);
        }
        catch (Exception e) when (e is AuthenticationRequiredException or AccessDeniedException)
        {
            var status = e is AuthenticationRequiredException ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
            var refused = AuditCatalogue.AccessRefused;
            refusals.Record(new AuditEntry(refused.Category, refused.Operation, AuditEventKind.Advise, Guid.NewGuid(),
                "Refused {HttpRequestMethod} {HttpRequestPath} with {StatusCode}: {Reason}",
                [new("DemandedPermission", demand.Permission.ToString()), new("StatusCode", status), new("Reason", e.Message)]), operation.Principal, operation.Http);
            throw;
        }
        await next(context);
    }

    /// <summary>The X-Forwarded-For headers as the request arrived (before a trusted proxy's entry was taken off), or null.</summary>
    static IReadOnlyList<string>? ForwardedFor(HttpContext context)
    {
        if (context.Items[ForwardedForItem] is string?[] original)
            return [.. original.Select(v => v ?? "")];
        return context.Request.Headers.TryGetValue("X-Forwarded-For", out var forwarded) ? [.. forwarded.Select(v => v ?? "")] : null;
    }

    /// <summary>At most a few values of bounded length; what was cut is marked, with its original size.</summary>
    static IReadOnlyList<string> Bounded(IReadOnlyList<string> values)
    {
        if (values.Count <= MaximumRecordedForwardedValues && values.All(v => v.Length <= MaximumRecordedValueLength))
            return values;
        List<string> kept = [.. values.Take(MaximumRecordedForwardedValues).Select(v => Bounded(v, MaximumRecordedValueLength))];
        if (values.Count > MaximumRecordedForwardedValues)
            kept.Add($"…[{values.Count - MaximumRecordedForwardedValues} more values not recorded; {values.Sum(v => (long)v.Length)} characters in all]");
        return kept;
    }

    static string Bounded(string value, int maximum)
    {
        if (value.Length <= maximum)
            return value;
        // Never half a surrogate pair: the audit line must stay valid UTF-8.
        var cut = char.IsHighSurrogate(value[maximum - 1]) ? maximum - 1 : maximum;
        return $"{value[..cut]}…[truncated; {value.Length} characters]";
    }

    async Task<Principal> AuthenticateAsync(HttpContext context, Endpoint endpoint)
    {
        var apiKey = ApiKeyOf(context, endpoint);
        if (apiKey is not null)
        {
            await RefreshIfStaleAsync(context);
            return directory.AuthenticateApiKey(apiKey) ?? throw new AuthenticationRequiredException("The API key is not valid.");
        }

        if (endpoint.Metadata.GetMetadata<IgnoresSession>() is null
            && context.Request.Cookies.TryGetValue(SessionCookie, out var token) && !string.IsNullOrEmpty(token))
        {
            if (await SessionPrincipalAsync(context, token) is { } principal)
                return principal;
            // As the response starts: when the request is then refused, the error mapping clears the headers it replaces.
            context.Response.OnStarting(static state =>
            {
                EndSessionCookie((HttpContext)state);
                return Task.CompletedTask;
            }, context);
        }

        return authentication.Enabled ? Principal.Anonymous : Principal.Unrestricted;
    }

    static string? ApiKeyOf(HttpContext context, Endpoint endpoint)
    {
        var headers = context.Request.Headers[ApiKeyHeader];
        if (headers.Count > 1)
            throw new AuthenticationRequiredException("Send one API key, in one X-Seq-ApiKey header.");
        if (headers.Count == 1)
            return headers[0];
        return endpoint.Metadata.GetMetadata<AcceptsApiKeyInQuery>() is not null && context.Request.Query.TryGetValue("apiKey", out var query)
            ? query[0]
            : null;
    }

    async Task<Principal?> SessionPrincipalAsync(HttpContext context, string token)
    {
        var session = await sessions.FindAsync(token, context.RequestAborted);
        if (session is not null)
            await RefreshIfStaleAsync(context);
        if (session is null || directory.FindUser(session.UserId) is not { } user || user.PasswordVersion != session.PasswordVersion)
            return null;

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method) && !HttpMethods.IsOptions(context.Request.Method)
            && !CsrfTokenMatches(context.Request.Headers[CsrfHeader].ToString(), session.CsrfToken))
            throw new AccessDeniedException($"A request that changes state with a session cookie must carry the session's CSRF token in {CsrfHeader}.");

        context.Items[SessionTokenItem] = token;
        return new Principal(PrincipalType.User, user.Username, user.Id, null, user.Permissions);
    }

    /// <summary>A directory whose last reload failed may still hold a revoked key or a deleted user; it is not trusted until reloaded.</summary>
    Task RefreshIfStaleAsync(HttpContext context) =>
        directory.IsStale ? directory.RefreshAsync(context.RequestAborted) : Task.CompletedTask;

    static bool CsrfTokenMatches(string presented, string expected) =>
        presented.Length == expected.Length
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented), Encoding.ASCII.GetBytes(expected));

    /// <summary>The session token of a request authenticated by its session cookie.</summary>
    public static string? SessionTokenOf(HttpContext context) => context.Items[SessionTokenItem] as string;

    public static void StartSessionCookie(HttpContext context, string token) =>
        context.Response.Cookies.Append(SessionCookie, token, CookieOptions(context));

    public static void EndSessionCookie(HttpContext context) =>
        context.Response.Cookies.Delete(SessionCookie, CookieOptions(context));

    static CookieOptions CookieOptions(HttpContext context) => new()
    {
        HttpOnly = true,
        Secure = context.Request.IsHttps,
        SameSite = SameSiteMode.Strict,
        Path = "/",
        IsEssential = true,
    };
}

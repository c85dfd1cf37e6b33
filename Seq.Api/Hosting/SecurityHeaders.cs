namespace Seq.Api.Hosting;

/// <summary>
/// The headers every response carries, whatever answers it: an endpoint, a static file, an error, a 404, or Kestrel's
/// own refusal (<see cref="ServerRefusalBodies"/>). The policy lets a dashboard served from this origin run its own
/// scripts and styles and call the API, and nothing else: no inline script, no eval, no framing by another site.
/// </summary>
static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>A year; sent only on a response that went out over HTTPS (directly or from a trusted TLS proxy).</summary>
    public const string StrictTransportSecurity = "max-age=31536000";

    public static readonly IReadOnlyList<KeyValuePair<string, string>> Always =
    [
        new("Content-Security-Policy", ContentSecurityPolicy),
        new("X-Content-Type-Options", "nosniff"),
        new("Referrer-Policy", "no-referrer"),
        new("Cross-Origin-Opener-Policy", "same-origin"),
        new("X-Frame-Options", "DENY"),
    ];

    /// <summary>
    /// Added as the response starts rather than now: the error mapping clears the headers of a response it replaces,
    /// and the scheme is only known to be HTTPS once a trusted proxy's X-Forwarded-Proto has been applied.
    /// </summary>
    public static Task AddToEveryResponse(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            var headers = http.Response.Headers;
            foreach (var (name, value) in Always)
                headers[name] = value;
            if (http.Request.IsHttps)
                headers.StrictTransportSecurity = StrictTransportSecurity;
            headers.Remove("Server");
            headers.Remove("X-Powered-By");
            return Task.CompletedTask;
        }, context);
        return next(context);
    }
}

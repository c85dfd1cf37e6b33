using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Seq.Infrastructure.Configuration;

namespace Seq.Api.Hosting;

/// <summary>
/// The addresses the server listens on (<c>api.listenUris</c>, serving everything) and those that serve ingestion
/// only (<c>api.ingestionListenUris</c>), each over plain HTTP or over HTTPS with the configured certificate.
/// Bound one by one rather than through the host's URL list, so that each connection knows which kind it arrived on
/// and Kestrel's own refusals are given their JSON body inside TLS, not around it.
/// </summary>
sealed class Listeners
{
    const string IngestionOnlyItem = "Seq.IngestionOnly";

    /// <summary>What an ingestion-only address serves: Seq's raw and CLEF ingestion paths.</summary>
    public static readonly IReadOnlyList<string> IngestionPaths = ["/api/events/raw", "/ingest/clef"];

    readonly List<(string Configured, bool IngestionOnly, bool Https, ListenOptions Listen)> _bound = [];

    /// <exception cref="HostConfigurationException">An address is malformed, or is HTTPS with no certificate configured.</exception>
    public void Bind(KestrelServerOptions kestrel, ServerOptions options)
    {
        foreach (var uri in options.ListenUris)
            Bind(kestrel, uri, options.Certificate, ingestionOnly: false);
        foreach (var uri in options.IngestionListenUris)
            Bind(kestrel, uri, options.Certificate, ingestionOnly: true);
    }

    void Bind(KestrelServerOptions kestrel, string configured, X509Certificate2? certificate, bool ingestionOnly)
    {
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(configured);
        }
        catch (FormatException)
        {
            throw new HostConfigurationException($"'{configured}' is not an address to listen on, such as http://localhost:5341.");
        }

        var https = string.Equals(address.Scheme, "https", StringComparison.OrdinalIgnoreCase);
        if (!https && !string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase))
            throw new HostConfigurationException($"'{configured}' must be an http:// or https:// address.");
        if (https && certificate is null)
            throw new HostConfigurationException(
                $"'{configured}' is an HTTPS address but no certificate is configured: set api.certificatePath (a PEM or PFX file), " +
                "and api.certificateKeyPath for a PEM key in a file of its own.");

        void Configure(ListenOptions listen)
        {
            if (ingestionOnly)
                listen.Use(next => connection =>
                {
                    connection.Items[IngestionOnlyItem] = true;
                    return next(connection);
                });
            if (https)
                listen.UseHttps(certificate!, tls => tls.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13);
            listen.UseErrorBodiesForServerRefusals();
            _bound.Add((configured, ingestionOnly, https, listen));
        }

        if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            kestrel.ListenLocalhost(address.Port, Configure);
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
            kestrel.Listen(ip, address.Port, Configure);
        else
            // "*", "+" or a host name: every interface, as Kestrel does for a name it cannot bind to.
            kestrel.ListenAnyIP(address.Port, Configure);
    }

    /// <summary>Whether the request came in on an ingestion-only address.</summary>
    public static bool IsIngestionOnly(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(IngestionOnlyItem, out var marked) == true && marked is true;

    /// <summary>The bound addresses (with the port chosen for port 0) of one kind, once the server has started.</summary>
    public IReadOnlyList<Uri> Addresses(bool ingestionOnly) =>
        [.. _bound.Where(b => b.IngestionOnly == ingestionOnly).Select(b => AddressOf(b.Https, b.Listen))];

    static Uri AddressOf(bool https, ListenOptions listen) =>
        new($"{(https ? "https" : "http")}://{(listen.IPEndPoint is { } endPoint ? endPoint.ToString() : listen.EndPoint.ToString())}");

    /// <summary>On an ingestion-only address, anything but the ingestion paths is answered 404 before routing.</summary>
    public static Task ServeOnlyIngestionThere(HttpContext context, RequestDelegate next)
    {
        if (!IsIngestionOnly(context) || IngestionPaths.Any(p => context.Request.Path.Equals(p, StringComparison.OrdinalIgnoreCase)))
            return next(context);
        return ErrorMapping.WriteErrorAsync(context, StatusCodes.Status404NotFound,
            $"This address serves only event ingestion ({string.Join(" and ", IngestionPaths)}).");
    }

    /// <summary>
    /// Says at start-up what each address serves and whether it is encrypted: plain HTTP is fine on loopback for
    /// development or behind a TLS proxy, and worth a warning anywhere else.
    /// </summary>
    public void LogAddresses(ILogger logger, bool behindTrustedProxy)
    {
        foreach (var (configured, ingestionOnly, https, listen) in _bound)
        {
            var serves = ingestionOnly ? "event ingestion only" : "the API";
            if (https)
                logger.LogInformation("Listening on {ListenUri} ({Serves}) over HTTPS", configured, serves);
            else if (listen.IPEndPoint is { } endPoint && IPAddress.IsLoopback(endPoint.Address) || behindTrustedProxy)
                logger.LogInformation("Listening on {ListenUri} ({Serves}) over plain HTTP: not encrypted, for local development or behind a TLS proxy", configured, serves);
            else
                logger.LogWarning("Listening on {ListenUri} ({Serves}) over plain HTTP: passwords, session cookies and API keys cross the network unencrypted. " +
                                  "Use an https:// address with api.certificatePath, or a TLS proxy in front (api.trustedProxies)", configured, serves);
        }
    }
}

using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Seq.Api.Endpoints;
using Seq.Application;
using Seq.Application.EventSourcing;
using Seq.Infrastructure;
using Npgsql;
using Seq.Application.Security;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Serilog;
using Microsoft.AspNetCore.HttpOverrides;
using Seq.Application.Auditing;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Configuration;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using Seq.Infrastructure.Backups;

namespace Seq.Api.Hosting;

/// <summary>Composes the web host. The command line and the tests both build the server through here.</summary>
public static class SeqServer
{
    public static WebApplication Build(ServerOptions options, Serilog.ILogger logger)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SeqServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        var listeners = new Listeners();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.Limits.MaximumBodyBytes;
            listeners.Bind(kestrel, options);
        });
        builder.Host.UseDefaultServiceProvider(provider =>
        {
            // A missing registration is found at start-up, not by the first request that needs it.
            provider.ValidateScopes = true;
            provider.ValidateOnBuild = true;
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger);
        // The host's own request lines carry the query string, which can hold apiKey=; the one line per request comes
        // from UseSerilogRequestLogging below instead, whatever level the logger lets through.
        // (AddSerilog's own rule names the provider, so only a rule that names it too can win over it.)
        builder.Logging.AddFilter<Serilog.Extensions.Logging.SerilogLoggerProvider>("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        // What UseSerilogRequestLogging needs (Serilog.AspNetCore); the providers above stay as they were.
        builder.Services.AddSingleton(new Serilog.Extensions.Hosting.DiagnosticContext(logger));
        builder.Services.AddSingleton<IDiagnosticContext>(provider => provider.GetRequiredService<Serilog.Extensions.Hosting.DiagnosticContext>());

        builder.Services.Configure<JsonOptions>(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = null;
            json.SerializerOptions.Converters.Add(new WellFormedJsonElementConverter());
        });
        builder.Services.Configure<RouteHandlerOptions>(routing => routing.ThrowOnBadRequest = true);
        builder.Services.AddSingleton(options.LoginThrottle);
        builder.Services.AddApplication();
        builder.Services.AddInfrastructure(options.ConnectionString);
        options.ConfigureServices?.Invoke(builder.Services);
        builder.Services.AddSingleton(options.SecretKey);
        builder.Services.AddSingleton<ISecretProtector>(new AesGcmSecretProtector(options.SecretKey));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<StartupGate>();
        builder.Services.AddSingleton<Seq.Application.Diagnostics.IngestionLog>();
        builder.Services.AddSingleton(listeners);
        AddAuditLog(builder.Services, options.Audit);
        builder.Services.AddBackups(options.BackupLocation);
        AddWriteRateLimit(builder.Services, options.Limits);

        var app = builder.Build();
        app.Use(SecurityHeaders.AddToEveryResponse);
        // Outside the error mapping, so that the line has the status the client got.
        app.UseSerilogRequestLogging(requestLogging => ServerLog.ConfigureRequestLogging(requestLogging, logger));
        app.UseMiddleware<ErrorMapping>();
        app.Use(Listeners.ServeOnlyIngestionThere);
        var gate = app.Services.GetRequiredService<StartupGate>();
        app.Use((context, next) =>
        {
            if (gate.IsOpen)
                return next(context);
            context.Response.Headers.RetryAfter = "1";
            return ErrorMapping.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "The server is starting; try again in a moment.");
        });
        app.UseStatusCodePages(context =>
            ErrorMapping.WriteErrorAsync(context.HttpContext, context.HttpContext.Response.StatusCode, ErrorMapping.DescribeStatus(context.HttpContext.Response.StatusCode)));
        if (options.TrustedProxies.Count > 0)
        {
            // The audit record keeps the header as the client sent it, before the proxy's entry is consumed below.
            app.Use((context, next) =>
            {
                if (context.Request.Headers.TryGetValue("X-Forwarded-For", out var forwarded))
                    context.Items[RequestAuthentication.ForwardedForItem] = forwarded.ToArray();
                return next(context);
            });
            app.UseForwardedHeaders(ForwardedHeadersFrom(options.TrustedProxies));
        }
        // Public files under wwwroot (the dashboard's): no endpoint, so no permission to declare. "/" is its index.html.
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseRouting();
        if (options.Limits.WritesPerSecondPerAddress > 0)
            app.UseRateLimiter();
        app.UseMiddleware<RequestAuthentication>();
        app.Use(ReadBodyOfUnknownLengthFirst);

        app.MapRootEndpoints();
        app.MapHealthEndpoints();
        app.MapSettingsEndpoints();
        app.MapFeedEndpoints();
        app.MapApiKeyEndpoints();
        app.MapRoleEndpoints();
        app.MapUserEndpoints();
        app.MapDiagnosticsEndpoints();
        app.MapEventEndpoints();
        app.MapBackupEndpoints();
        app.MapSignalEndpoints();
        return app;
    }

    /// <summary>
    /// Brings the schema up to date, checks that the secret key is the one the storage was initialized with
    /// (so nothing is ever written under the wrong key), starts listening, and only then sets up the first run: a
    /// start that fails must not have used up the administrator's password, which is shown only once. Until the
    /// set-up is done, every request gets 503.
    /// </summary>
    /// <exception cref="HostConfigurationException">An address to listen on is taken by another program.</exception>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken)
    {
        PermissionDemands.EnsureEveryEndpointDemandsAPermission(app);
        await app.Services.GetRequiredService<SchemaMigrator>().MigrateAsync(cancellationToken);
        await SecretKeyVerification.VerifyOrRecordAsync(
            app.Services.GetRequiredService<NpgsqlDataSource>(), app.Services.GetRequiredService<SecretKey>(), cancellationToken);

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            await StopAfterFailedStartAsync(app);
            throw new HostConfigurationException(
                $"{e.Message.TrimEnd('.')}: another program listens there. Stop it, or give this server another address with SEQ_API_LISTENURIS (api.listenUris).");
        }

        var options = app.Services.GetRequiredService<ServerOptions>();
        app.Services.GetRequiredService<Listeners>().LogAddresses(
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Seq.Listeners"), options.TrustedProxies.Count > 0);
        app.Services.GetRequiredService<InstanceAuthenticationState>().Enabled = await FirstRun.EnsureAsync(
            app.Services, options.FirstRun, options.Console, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Seq.FirstRun"), cancellationToken);
        await app.Services.GetRequiredService<ISecurityDirectory>().RefreshAsync(cancellationToken);
        await RestoreAudit.RecordPendingAsync(app.Services.GetRequiredService<NpgsqlDataSource>(), app.Services.GetRequiredService<AuditLog>(),
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Seq.Backups"), cancellationToken);
        app.Services.GetRequiredService<StartupGate>().IsOpen = true;
    }

    /// <summary>
    /// The background services (the schedule, retention, the directory listener) start before the listeners do, so a
    /// start refused for its address leaves them running: stopping them here, before the database goes away under
    /// them, keeps the refusal to its one line instead of their errors about a vanished database.
    /// </summary>
    static async Task StopAfterFailedStartAsync(WebApplication app)
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await app.StopAsync(bounded.Token);
        }
        catch (Exception e) when (e is AggregateException or OperationCanceledException)
        {
            // A service that does not stop in time, or fails to, is ended with the process: the refusal is what matters.
        }
    }

    /// <summary>
    /// A chunked body has no length to refuse up front, and the JSON binder stops at the first malformed byte: a body
    /// over the limit would get 400 or 413 depending on where its JSON goes wrong. Reading it whole first (Kestrel
    /// refuses past <see cref="RequestLimits.MaximumBodyBytes"/> with 413) makes the limit come first, as it does for a
    /// body with a Content-Length.
    /// </summary>
    static async Task ReadBodyOfUnknownLengthFirst(HttpContext context, RequestDelegate next)
    {
        if (context.Request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true
            && context.GetEndpoint()?.Metadata.GetMetadata<ReadsItsOwnBody>() is null)
        {
            var maximum = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? int.MaxValue;
            context.Request.EnableBuffering(bufferThreshold: (int)Math.Min(maximum, 1024 * 1024));
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            context.Request.Body.Position = 0;
        }
        await next(context);
    }

    /// <summary>Only the listed proxies are believed, and only for the one hop they add: anyone can send the headers.</summary>
    static ForwardedHeadersOptions ForwardedHeadersFrom(IReadOnlyList<string> trustedProxies)
    {
        var forwarding = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = 1,
        };
        forwarding.KnownIPNetworks.Clear();
        forwarding.KnownProxies.Clear();
        foreach (var proxy in trustedProxies)
            forwarding.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(proxy.Contains('/') ? proxy : proxy + (proxy.Contains(':') ? "/128" : "/32")));
        return forwarding;
    }

    /// <summary>
    /// One audit log per run of the server, with a new session id; its target comes from the host only. A file
    /// target and a server target at once is refused as ambiguous rather than guessed at.
    /// </summary>
    static void AddAuditLog(IServiceCollection services, AuditOptions audit)
    {
        if (audit.Path is not null && audit.ServerUrl is not null)
            throw new HostConfigurationException("Both audit.auditPath and audit.auditServerUrl are set; auditing goes to one target: clear one of them.");
        if (audit.ServerUrl is not null && string.IsNullOrEmpty(audit.ServerApiKey))
            throw new HostConfigurationException("audit.auditServerUrl is set without audit.auditServerApiKey (set it with `seqsvr secret set -k audit.auditServerApiKey`).");

        services.AddSingleton(AuditSession.Start());
        services.AddSingleton(provider =>
        {
            var session = provider.GetRequiredService<AuditSession>();
            var clock = provider.GetRequiredService<TimeProvider>();
            var loggers = provider.GetRequiredService<ILoggerFactory>();
            IAuditTarget? target = audit switch
            {
                { Path: { } path } => new FileAuditTarget(path, session.Id, clock, loggers.CreateLogger<FileAuditTarget>(), audit.File),
                { ServerUrl: { } url } => new ServerAuditTarget(url, audit.ServerApiKey!, loggers.CreateLogger<ServerAuditTarget>()),
                _ => null,
            };
            return new AuditLog(target, session, provider.GetRequiredService<SecretKey>(), clock, audit.Limits);
        });
        services.AddSingleton<AuditSessionAnchors>();
        services.AddHostedService<AuditSessionLifecycle>();
        services.AddScoped<IAuditLog, OperationAuditLog>();
        services.TryAddSingleton(RefusalAuditOptions.Default);
        services.AddSingleton<RefusalAudit>();
    }

    /// <summary>
    /// A token bucket per client address for requests that change state (anything but GET, HEAD and OPTIONS), so that
    /// one client cannot flood the server with writes; reads are not limited here.
    /// </summary>
    static void AddWriteRateLimit(IServiceCollection services, RequestLimits limits)
    {
        if (limits.WritesPerSecondPerAddress <= 0)
            return;
        services.AddRateLimiter(rateLimiter =>
        {
            rateLimiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || HttpMethods.IsOptions(context.Request.Method)
                    ? RateLimitPartition.GetNoLimiter("reads")
                    : RateLimitPartition.GetTokenBucketLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = Math.Max(limits.WriteBurstPerAddress, limits.WritesPerSecondPerAddress),
                        TokensPerPeriod = limits.WritesPerSecondPerAddress,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    }));
            rateLimiter.OnRejected = (rejected, _) =>
            {
                rejected.HttpContext.Response.Headers.RetryAfter = "1";
                return new ValueTask(ErrorMapping.WriteErrorAsync(rejected.HttpContext, StatusCodes.Status429TooManyRequests,
                    "Too many requests that change state from this address; slow down and try again."));
            };
        });
    }
}

/// <summary>Closed while the server listens but has not finished setting up; requests get 503 until it opens.</summary>
sealed class StartupGate
{
    volatile bool _isOpen;

    public bool IsOpen
    {
        get => _isOpen;
        set => _isOpen = value;
    }
}

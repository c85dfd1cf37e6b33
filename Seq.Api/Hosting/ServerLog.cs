using Microsoft.AspNetCore.Http;
using Seq.Infrastructure.Configuration;
using Serilog;
using Serilog.AspNetCore;
using Serilog.Events;
using Serilog.Extensions.Hosting;

namespace Seq.Api.Hosting;

/// <summary>
/// Where the server's own operational log goes (not the audit log): the console always; a rolling file under
/// <c>&lt;storage&gt;/Logs/</c> unless there is no storage root; a Seq server only when one is configured.
/// </summary>
public sealed record ServerLogOptions(string? FileDirectory, Uri? SeqServerUrl, string? SeqServerApiKey)
{
    public const string LogsFolder = "Logs";
    public const string FilePattern = "seqsvr-.log";

    /// <summary>The sink's period: short enough that an administrator watching a Seq server sees a start-up soon.</summary>
    public TimeSpan SeqPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <exception cref="HostConfigurationException">An API key is set for the Seq server, but no Seq server.</exception>
    public static ServerLogOptions FromSettings(string storageRoot, HostConfiguration configuration)
    {
        var url = configuration.EnvironmentAndFile("SEQ_DIAGNOSTICS_SEQSERVERURL");
        var apiKey = configuration.EnvironmentAndFile("SEQ_DIAGNOSTICS_SEQSERVERAPIKEY");
        if (url is null && apiKey is not null)
            throw new HostConfigurationException("diagnostics.seqServerApiKey is set without diagnostics.seqServerUrl: set the URL, or clear the key.");
        return new ServerLogOptions(Path.Combine(storageRoot, LogsFolder), url is null ? null : new Uri(url), apiKey);
    }

    public override string ToString() =>
        $"ServerLogOptions {{ FileDirectory = {FileDirectory}, SeqServerUrl = {SeqServerUrl}, SeqServerApiKey = {(SeqServerApiKey is null ? "none" : "(secret)")} }}";
}

public static class ServerLog
{
    const string ConsoleTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}";
    const string FileTemplate = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// Console only, until the host settings have been read; <see cref="Configure"/> then reloads it in place, so that
    /// loggers handed out before (to the secret key loader, the private cluster) follow.
    /// </summary>
    public static ReloadableLogger CreateBootstrapLogger() => Base(new LoggerConfiguration()).CreateBootstrapLogger();

    /// <summary>Adds the file and Seq sinks the options ask for; there is no outbound connection unless a Seq server is set.</summary>
    public static void Configure(ReloadableLogger logger, ServerLogOptions options)
    {
        if (options.FileDirectory is { } directory)
            CreateOwnerOnlyDirectory(directory);
        logger.Reload(configuration => Apply(Base(configuration), options));
        // Until frozen, every event takes the reloadable logger's lock.
        logger.Freeze();
    }

    /// <summary>A logger with every sink the options ask for, built at once (tests, and anything without a bootstrap phase).</summary>
    public static Serilog.Core.Logger Create(ServerLogOptions options, Func<LoggerConfiguration, LoggerConfiguration>? extra = null)
    {
        if (options.FileDirectory is { } directory)
            CreateOwnerOnlyDirectory(directory);
        var configuration = Apply(Base(new LoggerConfiguration()), options);
        return (extra?.Invoke(configuration) ?? configuration).CreateLogger();
    }

    static LoggerConfiguration Base(LoggerConfiguration configuration) =>
        configuration
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .Enrich.FromLogContext()
            // The host logs a failed start with its stack trace and then throws; the command line reports the exception itself.
            .Filter.ByExcluding(e => e.MessageTemplate.Text == "Hosting failed to start"
                                     && e.Properties.TryGetValue("SourceContext", out var source) && source.ToString() == "\"Microsoft.Extensions.Hosting.Internal.Host\"")
            .WriteTo.Console(outputTemplate: ConsoleTemplate, standardErrorFromLevel: LogEventLevel.Error);

    static LoggerConfiguration Apply(LoggerConfiguration configuration, ServerLogOptions options)
    {
        if (options.FileDirectory is { } directory)
        {
            configuration = configuration.WriteTo.File(
                Path.Combine(directory, ServerLogOptions.FilePattern),
                outputTemplate: FileTemplate,
                rollingInterval: RollingInterval.Day,
                rollOnFileSizeLimit: true,
                fileSizeLimitBytes: 64L * 1024 * 1024,
                retainedFileCountLimit: 31,
                // A reader (an administrator's tail, a test) may have the file open while the server writes.
                shared: true);
        }

        if (options.SeqServerUrl is { } url)
            configuration = configuration.WriteTo.Seq(url.ToString(), apiKey: options.SeqServerApiKey, period: options.SeqPeriod);
        return configuration;
    }

    // The log names users and addresses: it is for the administrator, as the storage root's configuration is.
    static void CreateOwnerOnlyDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(directory);
        else
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>
    /// One line per request: method, path (never the query string, which can carry <c>apiKey=</c>), status and
    /// elapsed time. No header and no body is logged. Health probes, which a load balancer sends every few seconds,
    /// are logged at Debug when they succeed.
    /// </summary>
    public static void ConfigureRequestLogging(RequestLoggingOptions options, Serilog.ILogger logger)
    {
        options.Logger = logger;
        options.IncludeQueryInRequestPath = false;
        options.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms";
        options.GetLevel = (context, _, exception) =>
            exception is not null || context.Response.StatusCode >= StatusCodes.Status500InternalServerError ? LogEventLevel.Error
            : context.Request.Path.StartsWithSegments("/health") && context.Response.StatusCode < StatusCodes.Status400BadRequest ? LogEventLevel.Debug
            : LogEventLevel.Information;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Seq.Application.ApiKeys;
using Seq.Application.EventSourcing;
using Seq.Application.Feeds;
using Seq.Application.Security;
using Seq.Application.Settings;
using Seq.Infrastructure.ApiKeys;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Feeds;
using Seq.Infrastructure.Security;
using Seq.Infrastructure.Settings;
using Seq.Infrastructure.Users;
using Seq.Application.Users;
using Seq.Application.Events;
using Seq.Infrastructure.Events;

namespace Seq.Infrastructure;

public static class DependencyInjection
{
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, string connectionString)
    {
        services.AddSingleton(_ => CreateDataSource(connectionString));
        services.AddSingleton(_ => new EventSerializer(EventTypeRegistry.ForDomain()));
        services.AddSingleton<IInlineProjection, SettingsProjection>();
        services.AddScoped<IEventStore, PostgresEventStore>();
        services.AddSingleton<GlobalFeed>();
        services.AddSingleton<SchemaMigrator>();
        services.AddSingleton<ISettingsReadModel, SettingsReadModel>();
        services.AddSingleton<IInlineProjection, NuGetFeedsProjection>();
        services.AddSingleton<INuGetFeedReadModel, NuGetFeedReadModel>();
        services.AddSingleton<IInlineProjection, Seq.Infrastructure.Signals.SignalsProjection>();
        services.AddSingleton<Seq.Application.Signals.ISignalsReadModel, Seq.Infrastructure.Signals.SignalsReadModel>();

        services.AddSingleton<IInlineProjection, UsersProjection>();
        services.AddSingleton<IUserReadModel, UserReadModel>();
        services.AddSingleton<ApiKeyTokens>();
        services.AddSingleton<SecurityDirectory>();
        services.AddSingleton<ISecurityDirectory>(provider => provider.GetRequiredService<SecurityDirectory>());
        services.AddSingleton<IAppendObserver>(provider => provider.GetRequiredService<SecurityDirectory>());
        services.TryAddSingleton(SecurityDirectoryListenerOptions.Default);
        services.AddHostedService<SecurityDirectoryListener>();
        services.AddSingleton<InstanceAuthenticationState>();
        services.AddSingleton<IPasswordHashing>(_ => new PasswordHashingPool(
            new PasswordHasher(), PasswordHashingPool.DefaultThreads, PasswordHashingPool.DefaultQueueCapacity));
        services.TryAddSingleton(LoginThrottleOptions.Default);
        services.AddSingleton<ILoginThrottle, LoginThrottle>();
        services.TryAddSingleton(SessionOptions.Default);
        services.AddSingleton<ISessions, PostgresSessions>();
        services.AddSingleton<IInlineProjection, ApiKeysProjection>();
        services.AddSingleton<IApiKeyReadModel, ApiKeyReadModel>();
        services.AddSingleton<IApiKeyTokens>(provider => provider.GetRequiredService<ApiKeyTokens>());
        services.AddSingleton<ILogEventWriter, PostgresLogEventWriter>();
        services.AddSingleton<ILogEventReader, PostgresLogEventReader>();
        services.TryAddSingleton(EventRetentionOptions.Default);
        services.AddSingleton<EventRetention>();
        services.AddHostedService(provider => provider.GetRequiredService<EventRetention>());
        // Resolved lazily: a host without ingestion (the restore command, some tests) has nothing to invalidate.
        services.AddSingleton<IAppendObserver>(provider => new IngestionCacheInvalidation(provider.GetService<IngestionConfiguration>()));
        return services;
    }

    public static NpgsqlDataSource CreateDataSource(string connectionString) => CreateDataSource(connectionString, maxAutoPrepare: 0);

    /// <param name="maxAutoPrepare">Anything but 0 brings back the bug described below; only the benchmark driver
    /// passes another value, to measure what automatic preparation would save (docs/benchmarks.md).</param>
    internal static NpgsqlDataSource CreateDataSource(string connectionString, int maxAutoPrepare)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        // No automatic preparation, even when the connection string asks for it. Npgsql (10.0.3 included) prepares a
        // statement in the same round trip as its Nth execution; when that execution's Bind fails on a value the
        // client sent (a NUL in a text parameter: 22021), it has already counted ParseComplete as "prepared" but never
        // read the row description, so the next use of that statement on that pooled connection expects no rows and
        // fails with "Received unexpected backend message DataRow", for whichever user's request draws it (ADR 0014).
        builder.ConnectionStringBuilder.MaxAutoPrepare = maxAutoPrepare;
        // The server keeps no session state on pooled connections (no SET, no session advisory locks, no temp
        // tables), so the reset statements Npgsql would otherwise send with each reuse are pure overhead.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        builder.ConnectionStringBuilder.ApplicationName ??= "seq";
        return builder.Build();
    }
}

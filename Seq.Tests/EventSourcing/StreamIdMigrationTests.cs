using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Domain;
using Seq.Domain.Feeds;
using Seq.Domain.Settings;
using Seq.Domain.Signals;
using Seq.Domain.Users;
using Seq.Infrastructure;
using Seq.Infrastructure.Backups;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.EventSourcing;

/// <summary>Schema step 12 and restore give streams written under the older id styles the one shape of ADR 0047.</summary>
public sealed class StreamIdMigrationTests : IAsyncDisposable
{
    const int StreamIdStep = 12;
    const string FeedId = "nugetfeed-0123456789abcdef";
    const string UserId = "user-0123456789abcdef";

    static readonly string[] OldIds = ["feed-" + FeedId, "settings-instance", "instance-authentication", "signal-stream-" + Signal.WarningsId, "users/" + UserId];

    static readonly string[] NewIds =
        [NuGetFeed.StreamIdFor(FeedId), InstanceSettings.StreamId, InstanceAuthentication.StreamId, Signal.StreamIdFor(Signal.WarningsId), User.StreamIdFor(UserId)];

    readonly List<ServiceProvider> _providers = [];

    [Fact]
    public void Every_aggregate_names_its_stream_category_slash_id()
    {
        NewIds.ShouldBe(["nugetfeeds/" + FeedId, "settings/instance", "authentication/instance", "signals/" + Signal.WarningsId, "users/" + UserId]);
    }

    [Fact]
    public async Task Schema_step_12_moves_streams_written_under_the_older_ids_with_their_events_and_feed_positions()
    {
        var (dataSource, store) = await DatabaseBeforeStep12Async();
        await WriteUnderOldIdsAsync(store);
        // A stream of another type whose id only looks like an old feed's keeps its id.
        await using (var other = dataSource.CreateCommand(
            "INSERT INTO streams (stream_id, type, version) VALUES ('feed-not-a-nuget-feed', 'Counter', 0)"))
            await other.ExecuteNonQueryAsync();
        var before = await EventsAsync(dataSource);

        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(default);

        (await StreamIdsAsync(dataSource)).ShouldBe([.. NewIds.Append("feed-not-a-nuget-feed").Order(StringComparer.Ordinal)]);
        var after = await EventsAsync(dataSource);
        after.Select(e => e with { StreamId = "" }).ShouldBe(before.Select(e => e with { StreamId = "" }), "tx, seq, version and event id stay");
        after.Select(e => e.StreamId).Distinct().Order(StringComparer.Ordinal).ShouldBe(NewIds.Order(StringComparer.Ordinal));
        await AggregatesLoadUnderNewIdsAsync(store);
    }

    [Fact]
    public async Task Restoring_a_backup_made_before_step_12_gives_its_streams_the_new_ids_and_rebuilds_the_read_models()
    {
        var key = SecretKey.Generate();
        var backups = TestDirectories.NewPath("sidbac");
        try
        {
            var (oldSource, oldStore) = await DatabaseBeforeStep12Async();
            await WriteUnderOldIdsAsync(oldStore);
            var file = await new BackupFiles(backups).WriteAsync(key, DateTimeOffset.UtcNow,
                async (content, token) => { await BackupSnapshot.WriteAsync(oldSource, content, token); }, default);

            var (target, provider) = await CurrentDatabaseAsync();
            var rebuild = new ProjectionRebuild(target, provider.GetRequiredService<EventSerializer>(), provider.GetServices<IInlineProjection>());
            var restored = await BackupRestore.ApplyAsync(target, rebuild, file.FullPath, key, "FullRestore", TimeProvider.System, default);

            restored.Streams.ShouldBe(OldIds.Length);
            (await StreamIdsAsync(target)).ShouldBe([.. NewIds.Order(StringComparer.Ordinal)]);
            await using (var feeds = target.CreateCommand("SELECT name FROM nuget_feeds WHERE id = $1"))
            {
                feeds.Parameters.Add(new NpgsqlParameter { Value = FeedId });
                (await feeds.ExecuteScalarAsync()).ShouldBe("Renamed feed");
            }
            await AggregatesLoadUnderNewIdsAsync(StoreOn(target, provider));
        }
        finally
        {
            TestDirectories.Delete(backups);
        }
    }

    static async Task WriteUnderOldIdsAsync(IEventStore store)
    {
        var now = DateTimeOffset.UtcNow;
        var created = NuGetFeed.Create(FeedId, "Old feed", "/srv/nuget", null, null, now);
        var feed = new NuGetFeed();
        feed.Apply(created);
        var renamed = feed.Change("Renamed feed", "/srv/nuget", null, PasswordChange.Unchanged, now);
        await store.AppendAsync(
        [
            new StreamAppend("feed-" + FeedId, NuGetFeed.StreamType, 0, [created, .. renamed]),
            new StreamAppend("settings-instance", InstanceSettings.StreamType, 0, new InstanceSettings().Change(SettingCatalogue.InstanceTitle, "Old title", now)),
            new StreamAppend("instance-authentication", InstanceAuthentication.StreamType, 0, [new AuthenticationConfigured(true, UserId, now)]),
            new StreamAppend("signal-stream-" + Signal.WarningsId, Signal.StreamType, 0, [Signal.Create(Signal.WarningsId, null, Signal.WarningsDefinition, now)]),
            new StreamAppend("users/" + UserId, User.StreamType, 0,
                [User.Create(UserId, "old-user", null, null, ["role-user-readwrite"], null, "not-a-real-hash", false, now)]),
        ], default);
    }

    static async Task AggregatesLoadUnderNewIdsAsync(IEventStore store)
    {
        var (feed, feedVersion) = await store.LoadAsync<NuGetFeed>(NuGetFeed.StreamIdFor(FeedId), default);
        (feed.Exists, feed.Name, feedVersion).ShouldBe((true, "Renamed feed", 2L));
        var (settings, _) = await store.LoadAsync<InstanceSettings>(InstanceSettings.StreamId, default);
        settings.ValueOf(SettingCatalogue.InstanceTitle).ShouldBe("Old title");
        (await store.LoadAsync<InstanceAuthentication>(InstanceAuthentication.StreamId, default)).Aggregate.IsConfigured.ShouldBeTrue();
        (await store.LoadAsync<Signal>(Signal.StreamIdFor(Signal.WarningsId), default)).Aggregate.Exists.ShouldBeTrue();
        (await store.LoadAsync<User>(User.StreamIdFor(UserId), default)).Aggregate.Username.ShouldBe("old-user");

        // The moved stream goes on from its version under its new id.
        await store.AppendAsync(NuGetFeed.StreamIdFor(FeedId), NuGetFeed.StreamType, feedVersion,
            feed.Change("Feed after the move", "/srv/nuget", null, PasswordChange.Unchanged, DateTimeOffset.UtcNow), default);
    }

    async Task<(NpgsqlDataSource, IEventStore)> DatabaseBeforeStep12Async()
    {
        var (dataSource, provider) = await ProviderAsync(await TestPostgres.CreateDatabaseAsync("sid"));
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var create = new NpgsqlCommand(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())", connection))
            await create.ExecuteNonQueryAsync();
        foreach (var step in SchemaMigrations.All.Where(s => s.Version < StreamIdStep))
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var apply = new NpgsqlCommand(step.Sql, connection, transaction))
                await apply.ExecuteNonQueryAsync();
            await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", connection, transaction))
            {
                record.Parameters.Add(new NpgsqlParameter { Value = step.Version });
                record.Parameters.Add(new NpgsqlParameter { Value = step.Name });
                await record.ExecuteNonQueryAsync();
            }
            await transaction.CommitAsync();
        }
        return (dataSource, StoreOn(dataSource, provider));
    }

    async Task<(NpgsqlDataSource, ServiceProvider)> CurrentDatabaseAsync()
    {
        var (dataSource, provider) = await ProviderAsync(await TestPostgres.CreateDatabaseAsync("sid"));
        await provider.GetRequiredService<SchemaMigrator>().MigrateAsync(default);
        return (dataSource, provider);
    }

    Task<(NpgsqlDataSource, ServiceProvider)> ProviderAsync(string connectionString)
    {
        var provider = new ServiceCollection().AddLogging().AddInfrastructure(connectionString).BuildServiceProvider();
        _providers.Add(provider);
        return Task.FromResult((provider.GetRequiredService<NpgsqlDataSource>(), provider));
    }

    static PostgresEventStore StoreOn(NpgsqlDataSource dataSource, ServiceProvider provider) =>
        new(dataSource, provider.GetRequiredService<EventSerializer>(), provider.GetServices<IInlineProjection>(), new OperationContext(), TimeProvider.System, []);

    static async Task<List<string>> StreamIdsAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT stream_id FROM streams ORDER BY stream_id COLLATE \"C\"");
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
            ids.Add(reader.GetString(0));
        return ids;
    }

    sealed record StoredEvent(string Tx, long Seq, string StreamId, long Version, Guid EventId);

    static async Task<List<StoredEvent>> EventsAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT tx::text, seq, stream_id, version, event_id FROM events ORDER BY tx, seq");
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<StoredEvent>();
        while (await reader.ReadAsync())
            events.Add(new StoredEvent(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3), reader.GetGuid(4)));
        return events;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _providers)
            await provider.DisposeAsync();
    }
}

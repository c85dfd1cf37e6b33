using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Seq.Application.Pipeline;
using Seq.Application.EventSourcing;
using Seq.Domain;
using Seq.Domain.ApiKeys;
using Seq.Domain.Feeds;
using Seq.Domain.Security;
using Seq.Domain.Settings;
using Seq.Domain.Signals;
using Seq.Domain.Users;
using Seq.Infrastructure;
using Seq.Infrastructure.EventSourcing;
using Seq.Tests.Support;

namespace Seq.Tests.Backups;

public sealed class ProjectionRebuildTests
{
    [Fact]
    public void Every_inline_projection_the_server_runs_declares_the_tables_a_rebuild_empties()
    {
        using var provider = new ServiceCollection().AddLogging().AddInfrastructure("Host=localhost").BuildServiceProvider();

        var projections = provider.GetServices<IInlineProjection>().ToList();

        projections.ShouldNotBeEmpty();
        projections.ShouldAllBe(p => p.Tables != null && p.Tables.Count > 0,
            "a projection without Tables cannot be rebuilt, so no backup restores; declare the tables it alone writes");
    }

    [Fact]
    public async Task A_rebuild_on_its_own_brings_every_read_model_back_to_what_the_events_say()
    {
        await using var server = await TestServer.StartAsync();
        await BackupTestData.MakeAsync(server);
        var before = await BackupTestData.DumpAsync(server.ConnectionString);
        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var wreck = new NpgsqlCommand("DELETE FROM users; DELETE FROM api_keys; UPDATE settings SET value = 'wrong'; DELETE FROM nuget_feeds", connection);
            await wreck.ExecuteNonQueryAsync();
        }

        var replayed = await server.Services.GetRequiredService<ProjectionRebuild>().RunAsync(default);

        replayed.ShouldBe(before["SELECT stream_id, version, event_id, type, data, metadata, created FROM events"].Count);
        BackupTestData.ShouldEqual(await BackupTestData.DumpAsync(server.ConnectionString), before);
    }

    static readonly string[] ReadModels =
        ["SELECT * FROM users", "SELECT * FROM api_keys", "SELECT * FROM nuget_feeds", "SELECT * FROM settings", "SELECT * FROM signals"];

    static async Task<Dictionary<string, List<string>>> ReadModelsAsync(NpgsqlDataSource dataSource)
    {
        var dump = new Dictionary<string, List<string>>();
        foreach (var query in ReadModels)
        {
            await using var command = dataSource.CreateCommand($"SELECT row_to_json(r)::text FROM ({query}) r");
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<string>();
            while (await reader.ReadAsync())
                rows.Add(reader.GetString(0));
            rows.Sort(StringComparer.Ordinal);
            dump[query] = rows;
        }
        return dump;
    }

    [Fact]
    public async Task The_batched_rebuild_leaves_exactly_the_rows_the_live_projections_wrote_for_creates_changes_and_deletes_of_every_kind()
    {
        await using var provider = new ServiceCollection().AddLogging().AddInfrastructure(await TestPostgres.CreateDatabaseAsync("rebuild")).BuildServiceProvider();
        await provider.GetRequiredService<SchemaMigrator>().MigrateAsync(default);
        var dataSource = provider.GetRequiredService<NpgsqlDataSource>();
        var projections = provider.GetServices<IInlineProjection>().ToList();
        var store = new PostgresEventStore(dataSource, provider.GetRequiredService<EventSerializer>(), projections, new OperationContext(), TimeProvider.System, []);
        var at = new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var filter = new DescriptiveFilter("errors", false, "@Level = 'Error'", "@Level = 'Error'");
        var definition = new SignalDefinition("Errors", null, [new SignalFilter(null, false, "@Level = 'Error'", null)], [new SignalColumn("@Message")],
            SignalGrouping.Inferred, null, false, false);

        // Through the live path: the same store, projections and batches an append uses, with every kind of change.
        async Task AppendAsync(string stream, string type, params IDomainEvent[] events) =>
            await store.AppendAsync([new StreamAppend(stream, type, 0, events)], default);
        for (var i = 0; i < 3; i++)
        {
            var id = $"user-r{i}";
            await AppendAsync(User.StreamIdFor(id), User.StreamType,
                new UserCreated(id, $"name{i}", null, null, ["role-user-readonly"], null, "pbkdf2$hash", true, at),
                new UserChanged(id, $"renamed{i}", $"Display {i}", $"u{i}@example.com", ["role-user-readwrite", "role-user-readonly"], i == 0 ? filter : null, false, at.AddMinutes(1)),
                new UserPasswordChanged(id, "pbkdf2$new", i == 1, 2, PasswordChangeReason.ResetByAdministrator, at.AddMinutes(2)));
            var key = $"apikey-r{i}";
            await AppendAsync(ApiKey.StreamIdFor(key), ApiKey.StreamType,
                new ApiKeyCreated(key, $"Key {i}", $"pfx{i}", [1, 2, (byte)i], [3, 4, (byte)i], [Permission.Ingest], i == 0 ? id : null, InputSettings.None, at),
                new ApiKeyChanged(key, $"Key {i} renamed", [Permission.Ingest, Permission.Read], InputSettings.None, at.AddMinutes(3)));
            var feed = $"feed-r{i}";
            await AppendAsync(NuGetFeed.StreamIdFor(feed), NuGetFeed.StreamType,
                new NuGetFeedCreated(feed, $"Feed {i}", "https://nuget.example.com/v3/index.json", null, null, at),
                new NuGetFeedChanged(feed, $"Feed {i} renamed", "https://other.example.com/v3/index.json", "someone", at.AddMinutes(1)),
                new NuGetFeedPasswordChanged(feed, "ciphertext", at.AddMinutes(2)));
            var signal = $"signal-r{i}";
            await AppendAsync(Signal.StreamIdFor(signal), Signal.StreamType,
                new SignalCreated(signal, i == 0 ? id : null, definition, at),
                new SignalChanged(signal, definition with { Title = $"Errors {i}", IsProtected = true }, at.AddMinutes(4)));
        }
        await store.AppendAsync([new StreamAppend(User.StreamIdFor("user-r1"), User.StreamType, 3, [new UserDeleted("user-r1", at.AddHours(1))])], default);
        await store.AppendAsync([new StreamAppend(ApiKey.StreamIdFor("apikey-r2"), ApiKey.StreamType, 2, [new ApiKeyDeleted("apikey-r2", at.AddHours(1))])], default);
        await store.AppendAsync([new StreamAppend(NuGetFeed.StreamIdFor("feed-r0"), NuGetFeed.StreamType, 3, [new NuGetFeedDeleted("feed-r0", at.AddHours(1))])], default);
        await store.AppendAsync([new StreamAppend(Signal.StreamIdFor("signal-r1"), Signal.StreamType, 2, [new SignalRemoved("signal-r1", at.AddHours(1))])], default);
        await store.AppendAsync(InstanceSettings.StreamId, InstanceSettings.StreamType, 0,
            [new SettingChanged("InstanceTitle", "First", null, at), new SettingChanged("InstanceTitle", "Second", "First", at.AddMinutes(1)),
             new SettingChanged("BackupsToKeep", "3", null, at.AddMinutes(2))], default);
        var live = await ReadModelsAsync(dataSource);
        live["SELECT * FROM users"].Count.ShouldBe(2);
        live["SELECT * FROM signals"].Count.ShouldBe(2);
        live["SELECT * FROM settings"].ShouldContain(r => r.Contains("\"Second\""));

        await using (var wreck = dataSource.CreateCommand("UPDATE users SET display_name = 'wrong', password_version = 9; DELETE FROM api_keys; DELETE FROM signals; UPDATE settings SET value = 'wrong'"))
            await wreck.ExecuteNonQueryAsync();
        await new ProjectionRebuild(dataSource, provider.GetRequiredService<EventSerializer>(), projections).RunAsync(default);

        BackupTestData.ShouldEqual(await ReadModelsAsync(dataSource), live);
    }
}

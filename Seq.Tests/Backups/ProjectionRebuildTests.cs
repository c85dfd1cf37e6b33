using Microsoft.Extensions.DependencyInjection;
using Npgsql;
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
}

using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Infrastructure;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.EventSourcing;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// <see cref="AuditSessionAnchors"/> on a migrated PostgreSQL database: what is stored reads back as written, the
/// latest session is the one that started last, and an anchor only moves forward.
/// </summary>
public sealed class AuditSessionAnchorsTests
{
    static readonly DateTimeOffset Noon = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    static async Task<NpgsqlDataSource> MigratedDatabaseAsync()
    {
        var dataSource = DependencyInjection.CreateDataSource(await TestPostgres.CreateDatabaseAsync("anchors"));
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(default);
        return dataSource;
    }

    [Fact]
    public async Task Anchors_read_back_as_written_oldest_first_and_the_latest_is_the_one_that_started_last()
    {
        await using var dataSource = await MigratedDatabaseAsync();
        var anchors = new AuditSessionAnchors(dataSource);
        (await anchors.LatestAsync(default)).ShouldBeNull();

        var first = new AuditSessionAnchor("first", null, "file /var/audit", Noon, 0, null, null);
        var second = new AuditSessionAnchor("second", "first", "server http://x/", Noon.AddHours(1).ToOffset(TimeSpan.FromHours(2)), 4, new string('c', 64), null);
        await anchors.StartAsync(second, default);
        await anchors.StartAsync(first, default);

        var all = await AuditSessionAnchors.ReadAllAsync(dataSource, default);
        all.ShouldBe([first, second with { Started = Noon.AddHours(1) }]);
        all[1].Started.Offset.ShouldBe(TimeSpan.Zero);
        (await anchors.LatestAsync(default)).ShouldBe(all[1]);
    }

    [Fact]
    public async Task An_anchor_moves_forward_never_back_and_records_a_clean_end()
    {
        await using var dataSource = await MigratedDatabaseAsync();
        var anchors = new AuditSessionAnchors(dataSource);
        await anchors.StartAsync(new AuditSessionAnchor("s", null, "file /a", Noon, 0, null, null), default);
        await anchors.StartAsync(new AuditSessionAnchor("other", null, "file /a", Noon.AddMinutes(-1), 0, null, null), default);

        await anchors.AdvanceAsync("s", 5, "five", ended: false, default);
        (await anchors.LatestAsync(default))!.ShouldSatisfyAllConditions(a => a.DurableSequence.ShouldBe(5), a => a.DurableChain.ShouldBe("five"), a => a.Ended.ShouldBeNull());

        await anchors.AdvanceAsync("s", 3, "three", ended: true, default);
        (await anchors.LatestAsync(default))!.ShouldSatisfyAllConditions(a => a.DurableSequence.ShouldBe(5), a => a.DurableChain.ShouldBe("five"), a => a.Ended.ShouldBeNull());

        var before = DateTimeOffset.UtcNow.AddMinutes(-5);
        await anchors.AdvanceAsync("s", 5, null, ended: true, default);
        var ended = (await anchors.LatestAsync(default))!;
        ended.ShouldSatisfyAllConditions(a => a.DurableSequence.ShouldBe(5), a => a.DurableChain.ShouldBeNull(), a => a.Ended.ShouldNotBeNull());
        ended.Ended!.Value.ShouldBeGreaterThan(before);

        await anchors.AdvanceAsync("s", 6, "six", ended: false, default);
        (await anchors.LatestAsync(default))!.Ended.ShouldBe(ended.Ended, "a clean end stays recorded");
        (await AuditSessionAnchors.ReadAllAsync(dataSource, default)).Single(a => a.AuditSession == "other").DurableSequence.ShouldBe(0);
    }
}

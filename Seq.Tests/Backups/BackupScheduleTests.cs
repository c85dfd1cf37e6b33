using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using System.Text.Json;
using Npgsql;
using Seq.Infrastructure;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Backups;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Infrastructure.Settings;
using Seq.Tests.Support;

namespace Seq.Tests.Backups;

public sealed class BackupScheduleTests : IAsyncLifetime
{
    static readonly DateTimeOffset Start = new(2026, 3, 1, 3, 29, 0, TimeSpan.Zero);
    readonly SteppingClock _clock = new(Start);
    readonly SecretKey _key = SecretKey.Generate();
    readonly List<string> _directories = [];
    readonly List<BackupSchedule> _schedules = [];
    readonly List<AuditLog> _audits = [];
    readonly Dictionary<string, string> _auditFolders = [];
    NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync()
    {
        _dataSource = DependencyInjection.CreateDataSource(await TestPostgres.CreateDatabaseAsync("sched"));
        await new SchemaMigrator(_dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(default);
        await using var command = _dataSource.CreateCommand("INSERT INTO settings (name, value, updated) VALUES ('BackupUtcTimeOfDay', '03:30', now())");
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        await StopNodesAsync();
        await _dataSource.DisposeAsync();
        foreach (var directory in _directories)
            TestDirectories.Delete(directory);
    }

    async Task StopNodesAsync()
    {
        foreach (var schedule in _schedules)
            await schedule.StopAsync(default);
        _schedules.Clear();
        foreach (var audit in _audits)
            await audit.DisposeAsync();
        _audits.Clear();
    }

    /// <summary>A node: its own backup location and audit folder, the shared database and clock.</summary>
    async Task<BackupFiles> StartNodeAsync(string? location = null)
    {
        var directory = TestDirectories.NewPath("sched");
        _directories.Add(directory);
        var auditFolder = TestDirectories.NewPath("sched-audit");
        _directories.Add(auditFolder);
        Directory.CreateDirectory(auditFolder);
        var session = AuditSession.Start();
        var audit = new AuditLog(new FileAuditTarget(auditFolder, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance), session, _key, TimeProvider.System);
        _audits.Add(audit);
        var settings = new SettingsReadModel(_dataSource);
        var service = new BackupService(new BackupOptions(location ?? directory), _dataSource, _key, settings, _clock, NullLogger<BackupService>.Instance);
        var schedule = new BackupSchedule(service, _dataSource, settings, audit, _clock, NullLogger<BackupSchedule>.Instance);
        var waiting = _clock.Waiting;
        await schedule.StartAsync(default);
        await Poll.UntilAsync(() => _clock.Waiting > waiting, "the schedule to wait for its time");
        _schedules.Add(schedule);
        _auditFolders[service.Files!.Directory] = auditFolder;
        return service.Files!;
    }

    async Task<List<string>> DaysAsync()
    {
        await using var command = _dataSource.CreateCommand("SELECT day::text || ' ' || file_name FROM backup_days ORDER BY day");
        await using var reader = await command.ExecuteReaderAsync();
        var days = new List<string>();
        while (await reader.ReadAsync())
            days.Add(reader.GetString(0));
        return days;
    }

    [Fact]
    public async Task The_daily_backup_is_made_at_the_configured_utc_time_and_again_the_next_day()
    {
        var files = await StartNodeAsync();

        _clock.Advance(TimeSpan.FromSeconds(30));
        files.List().ShouldBeEmpty();
        _clock.Advance(TimeSpan.FromSeconds(31));
        await Poll.UntilAsync(() => files.List().Count == 1, "the 03:30 backup");
        files.List()[0].CreatedAt.ShouldBe(Start.AddSeconds(61));

        await Poll.UntilAsync(async () => (await DaysAsync()).Count == 1 && _clock.Waiting > 0, "the schedule to wait for the next day");
        _clock.Advance(TimeSpan.FromHours(23));
        files.List().Count.ShouldBe(1);
        _clock.Advance(TimeSpan.FromHours(1));
        await Poll.UntilAsync(async () => files.List().Count == 2 && (await DaysAsync()).Count == 2, "the next day's backup");
        (await DaysAsync()).Select(d => d[..10]).ShouldBe(["2026-03-01", "2026-03-02"]);
    }

    [Fact]
    public async Task Two_servers_on_one_database_make_one_backup_a_day_between_them()
    {
        var first = await StartNodeAsync();
        var second = await StartNodeAsync();

        _clock.Advance(TimeSpan.FromMinutes(2));

        await Poll.UntilAsync(async () => (await DaysAsync()).Count == 1 && _clock.Waiting >= 2, "both nodes to be done with the day");
        (first.List().Count + second.List().Count).ShouldBe(1);
        var day = (await DaysAsync()).Single();
        (first.List().Concat(second.List()).Single().FileName).ShouldBe(day[11..]);
    }

    /// <summary>Every audit event the node with this backup location wrote.</summary>
    List<JsonElement> AuditEvents(BackupFiles files) =>
        [.. Directory.GetFiles(_auditFolders[files.Directory]).SelectMany(File.ReadAllLines).Select(line => JsonDocument.Parse(line).RootElement)];

    [Fact]
    public async Task The_scheduled_backup_is_audited_as_a_system_operation_by_the_node_that_makes_it_and_only_by_it()
    {
        var first = await StartNodeAsync();
        var second = await StartNodeAsync();

        _clock.Advance(TimeSpan.FromMinutes(2));
        await Poll.UntilAsync(async () => (await DaysAsync()).Count == 1 && _clock.Waiting >= 2, "both nodes to be done with the day");
        await StopNodesAsync();

        var (maker, other) = first.List().Count == 1 ? (first, second) : (second, first);
        AuditEvents(other).Where(e => e.GetProperty("Category").GetString() == "Backup").ShouldBeEmpty();
        var events = AuditEvents(maker).Where(e => e.GetProperty("Category").GetString() == "Backup").ToList();
        events.Select(e => e.GetProperty("Event").GetString()).ShouldBe(["Begin", "Complete"]);
        events.ShouldAllBe(e => e.GetProperty("Operation").GetString() == "ScheduledCreate"
            && e.GetProperty("PrincipalType").GetString() == "Public" && e.GetProperty("Principal").GetString() == "Backup schedule"
            && e.GetProperty("BackupDay").GetString() == "2026-03-01");
        events.ShouldAllBe(e => !e.EnumerateObject().Any(p => p.Name == "HttpRequestPath"), "no request started it");
        events.Select(e => e.GetProperty("OperationId").GetString()).Distinct().Count().ShouldBe(1);
        var file = maker.List().Single();
        events[1].GetProperty("BackupId").GetString().ShouldBe(file.Id);
        events[1].GetProperty("FileSizeBytes").GetInt64().ShouldBe(file.SizeInBytes);
    }

    [Fact]
    public async Task A_scheduled_backup_that_fails_is_audited_as_a_failure_after_its_durable_begin()
    {
        // A backup location that is a file: the backup cannot be written.
        var blocked = TestDirectories.NewPath("sched-blocked");
        _directories.Add(blocked);
        Directory.CreateDirectory(blocked);
        var location = Path.Combine(blocked, "not-a-folder");
        await File.WriteAllTextAsync(location, "");
        var node = await StartNodeAsync(location);
        var folder = _auditFolders[node.Directory];

        _clock.Advance(TimeSpan.FromMinutes(2));
        await Poll.UntilAsync(() => Directory.GetFiles(folder).Any(f => File.ReadAllText(f).Contains("\"Event\":\"Fail\"", StringComparison.Ordinal)), "the failed attempt's audit");
        await StopNodesAsync();

        var events = AuditEvents(node).Where(e => e.GetProperty("Category").GetString() == "Backup").ToList();
        events.Select(e => e.GetProperty("Event").GetString()).ShouldBe(["Begin", "Fail"]);
        events[1].GetProperty("@x").GetString()!.ShouldContain("not-a-folder");
        (await DaysAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_database_that_cannot_be_reached_costs_one_error_a_minute_not_one_per_round_trip()
    {
        // Nothing listens on port 1: every query fails at once, so a schedule that retried without waiting would spin.
        await using var unreachable = DependencyInjection.CreateDataSource("Host=127.0.0.1;Port=1;Username=nobody;Password=unused;Timeout=2");
        var directory = TestDirectories.NewPath("sched-unreachable");
        _directories.Add(directory);
        Directory.CreateDirectory(directory);
        var session = AuditSession.Start();
        await using var audit = new AuditLog(new FileAuditTarget(directory, session.Id, TimeProvider.System, NullLogger<FileAuditTarget>.Instance), session, _key, TimeProvider.System);
        var settings = new SettingsReadModel(unreachable);
        var service = new BackupService(new BackupOptions(directory), unreachable, _key, settings, _clock, NullLogger<BackupService>.Instance);
        var logger = new RecordingLogger<BackupSchedule>();
        var schedule = new BackupSchedule(service, unreachable, settings, audit, _clock, logger);

        await schedule.StartAsync(default);
        try
        {
            await Poll.UntilAsync(() => _clock.Waiting > 0, "the schedule to wait after its failure");
            await Task.Delay(200);
            logger.Entries.Count(e => e.Level == LogLevel.Error).ShouldBe(1, logger.Text);

            _clock.Advance(BackupSchedule.RetryDelay - TimeSpan.FromSeconds(1));
            await Task.Delay(200);
            logger.Entries.Count(e => e.Level == LogLevel.Error).ShouldBe(1, logger.Text);

            _clock.Advance(TimeSpan.FromSeconds(1));
            await Poll.UntilAsync(() => logger.Entries.Count(e => e.Level == LogLevel.Error) == 2 && _clock.Waiting > 0, "the second attempt a minute later");
            logger.Entries.Count(e => e.Level == LogLevel.Error).ShouldBe(2, logger.Text);
            logger.Text.ShouldNotContain("unused");
        }
        finally
        {
            await schedule.StopAsync(default);
        }
    }

    [Fact]
    public void The_next_occurrence_is_today_if_the_time_is_still_ahead_and_tomorrow_otherwise()
    {
        BackupSchedule.NextOccurrence(Start, new TimeOnly(3, 30)).ShouldBe(Start.AddMinutes(1));
        BackupSchedule.NextOccurrence(Start, new TimeOnly(3, 29)).ShouldBe(Start.AddDays(1));
        BackupSchedule.NextOccurrence(Start, new TimeOnly(1, 0)).ShouldBe(new DateTimeOffset(2026, 3, 2, 1, 0, 0, TimeSpan.Zero));
    }
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Application.Security;
using Seq.Domain;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;
using Seq.Domain.Settings;
using Seq.Domain.Users;
using Seq.Infrastructure;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Credentials;

/// <summary>
/// The in-memory directory that every request authenticates against, loaded from rows written here directly (as the
/// projections would), so that what it grants is read from the tables and nothing else.
/// </summary>
public sealed class SecurityDirectoryTests(CredentialsDatabase database) : IClassFixture<CredentialsDatabase>
{
    readonly SecretKey _key = SecretKey.Generate();
    readonly string _run = Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task A_shared_key_grants_exactly_the_known_permissions_stored_with_it_and_public()
    {
        var tokens = new ApiKeyTokens(_key);
        var token = await AddKeyAsync(tokens, "shared", ["Read", "Ingest", "Bogus", "99", "read", ""], ownerId: null);
        var directory = new SecurityDirectory(database.DataSource, tokens);

        await directory.RefreshAsync(CancellationToken.None);

        var principal = directory.AuthenticateApiKey(token).ShouldNotBeNull();
        principal.Type.ShouldBe(PrincipalType.ApiKey);
        principal.Name.ShouldBe($"shared {_run}");
        principal.Id.ShouldBe($"apikey-shared-{_run}");
        principal.OnBehalfOfUserId.ShouldBeNull();
        principal.Permissions.OrderBy(p => p).ShouldBe([Permission.Public, Permission.Ingest, Permission.Read]);
    }

    [Fact]
    public async Task A_personal_key_grants_only_what_its_owner_holds_now_and_nothing_once_its_owner_is_gone()
    {
        var tokens = new ApiKeyTokens(_key);
        var ownerId = await AddUserAsync("owner", [BuiltInRoles.UserReadOnly.Id]);
        var kept = await AddKeyAsync(tokens, "personal", ["Read", "Write", "Ingest"], ownerId);
        var orphan = await AddKeyAsync(tokens, "orphan", ["Read"], ownerId: $"user-gone-{_run}");
        var directory = new SecurityDirectory(database.DataSource, tokens);

        await directory.RefreshAsync(CancellationToken.None);

        var principal = directory.AuthenticateApiKey(kept).ShouldNotBeNull();
        principal.OnBehalfOfUserId.ShouldBe(ownerId);
        principal.Permissions.OrderBy(p => p).ShouldBe([Permission.Public, Permission.Read]);
        directory.AuthenticateApiKey(orphan).ShouldBeNull();

        var user = directory.FindUser(ownerId).ShouldNotBeNull();
        user.Username.ShouldBe($"owner-{_run}");
        user.PasswordVersion.ShouldBe(3);
        user.Permissions.OrderBy(p => p).ShouldBe([Permission.Public, Permission.Read]);
        directory.FindUser($"user-gone-{_run}").ShouldBeNull();
    }

    [Fact]
    public async Task Keys_that_share_a_prefix_each_authenticate_as_themselves_and_a_wrong_remainder_as_nobody()
    {
        var tokens = new ApiKeyTokens(_key);
        var prefix = $"P{_run[..5]}";
        var first = await AddKeyAsync(tokens, "first", ["Read"], null, token: prefix + "aaaaaaaaaaaaaaaaaa");
        var second = await AddKeyAsync(tokens, "second", ["Ingest"], null, token: prefix + "bbbbbbbbbbbbbbbbbb");
        var directory = new SecurityDirectory(database.DataSource, tokens);

        await directory.RefreshAsync(CancellationToken.None);

        directory.AuthenticateApiKey(first).ShouldNotBeNull().Name.ShouldBe($"first {_run}");
        directory.AuthenticateApiKey(second).ShouldNotBeNull().Name.ShouldBe($"second {_run}");
        directory.AuthenticateApiKey(prefix + "cccccccccccccccccc").ShouldBeNull();
        directory.AuthenticateApiKey(prefix).ShouldBeNull();
        directory.AuthenticateApiKey("").ShouldBeNull();

        // Under another secret key the stored hashes match nothing.
        var other = new SecurityDirectory(database.DataSource, new ApiKeyTokens(SecretKey.Generate()));
        await other.RefreshAsync(CancellationToken.None);
        other.AuthenticateApiKey(first).ShouldBeNull();
    }

    [Fact]
    public async Task A_key_added_after_a_load_is_unknown_until_the_next_refresh()
    {
        var tokens = new ApiKeyTokens(_key);
        var directory = new SecurityDirectory(database.DataSource, tokens);
        await directory.RefreshAsync(CancellationToken.None);

        var token = await AddKeyAsync(tokens, "late", ["Read"], null);
        directory.AuthenticateApiKey(token).ShouldBeNull();

        await directory.RefreshAsync(CancellationToken.None);
        directory.AuthenticateApiKey(token).ShouldNotBeNull();
    }

    [Fact]
    public async Task Permission_names_are_matched_exactly_so_a_lower_case_name_grants_nothing()
    {
        var tokens = new ApiKeyTokens(_key);
        var token = await AddKeyAsync(tokens, "lower", ["read", "INGEST", "wRITE"], ownerId: null);
        var directory = new SecurityDirectory(database.DataSource, tokens);

        await directory.RefreshAsync(CancellationToken.None);

        directory.AuthenticateApiKey(token).ShouldNotBeNull().Permissions.ShouldBe([Permission.Public]);
    }

    [Fact]
    public async Task A_load_that_fails_marks_the_directory_stale_and_the_next_that_succeeds_clears_it()
    {
        // A database without the tables: every load fails until it is migrated.
        await using var source = DependencyInjection.CreateDataSource(await TestPostgres.CreateDatabaseAsync("creds"));
        var directory = new SecurityDirectory(source, new ApiKeyTokens(_key));
        directory.IsStale.ShouldBeFalse();

        await Should.ThrowAsync<PostgresException>(() => directory.RefreshAsync(CancellationToken.None));
        directory.IsStale.ShouldBeTrue();
        await Should.ThrowAsync<PostgresException>(() => directory.RefreshAsync(CancellationToken.None));
        directory.IsStale.ShouldBeTrue();

        await new SchemaMigrator(source, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);
        await directory.RefreshAsync(CancellationToken.None);
        directory.IsStale.ShouldBeFalse();
    }

    [Fact]
    public async Task A_local_append_reloads_the_directory_when_it_holds_a_user_or_key_event_and_not_otherwise()
    {
        var tokens = new ApiKeyTokens(_key);
        var directory = new SecurityDirectory(database.DataSource, tokens);
        await directory.RefreshAsync(CancellationToken.None);
        var now = DateTimeOffset.UtcNow;

        var first = await AddKeyAsync(tokens, "after-setting", ["Read"], null);
        await directory.AfterCommitAsync([new SettingChanged("Name", "v", null, now)], CancellationToken.None);
        directory.AuthenticateApiKey(first).ShouldBeNull("a settings change does not touch users or keys");

        await directory.AfterCommitAsync([new SettingChanged("Name", "v", null, now), new UserDeleted("user-x", now)], CancellationToken.None);
        directory.AuthenticateApiKey(first).ShouldNotBeNull("one user event among others is enough");

        var second = await AddKeyAsync(tokens, "after-key", ["Read"], null);
        await directory.AfterCommitAsync([new ApiKeyDeleted("apikey-x", now)], CancellationToken.None);
        directory.AuthenticateApiKey(second).ShouldNotBeNull("a key event reloads");
    }

    [Fact]
    public async Task The_listener_loads_a_change_another_node_announces_at_once_and_keeps_its_connection_between_quiet_intervals()
    {
        var tokens = new ApiKeyTokens(_key);
        await using var listening = await StartListenerAsync(tokens, TimeSpan.FromSeconds(1));
        var pid = listening.Pid;

        var notified = await AddKeyAsync(tokens, "notified", ["Read"], null);
        await NotifyAsync();
        await Poll.UntilAsync(() => listening.Directory.AuthenticateApiKey(notified) is not null, TimeSpan.FromSeconds(10), "the announced key");

        // Without a notification the interval reloads, and the probe of the quiet connection keeps it.
        var quiet = await AddKeyAsync(tokens, "quiet", ["Read"], null);
        await Poll.UntilAsync(() => listening.Directory.AuthenticateApiKey(quiet) is not null, TimeSpan.FromSeconds(15), "the interval's reload");
        await Poll.UntilAsync(async () => await ListenersAsync(listening.Application) is [var again] && again == pid && await ProbedAsync(pid),
            TimeSpan.FromSeconds(15), "a probe on the same listening connection");
        listening.Log.Warnings.ShouldBe(0);
    }

    [Fact]
    public async Task A_change_announced_during_a_long_interval_is_not_left_waiting_for_it()
    {
        var tokens = new ApiKeyTokens(_key);
        await using var listening = await StartListenerAsync(tokens, TimeSpan.FromMinutes(10));

        var token = await AddKeyAsync(tokens, "announced", ["Read"], null);
        listening.Directory.AuthenticateApiKey(token).ShouldBeNull();
        await NotifyAsync();

        await Poll.UntilAsync(() => listening.Directory.AuthenticateApiKey(token) is not null, TimeSpan.FromSeconds(10), "the announced key");
    }

    [Fact]
    public async Task When_its_connection_is_lost_the_listener_reloads_every_second_warns_once_and_listens_again()
    {
        var tokens = new ApiKeyTokens(_key);
        await using var listening = await StartListenerAsync(tokens, TimeSpan.FromMinutes(10));

        (await database.ScalarAsync<bool>("SELECT pg_terminate_backend($1)", listening.Pid)).ShouldBeTrue();
        var unannounced = await AddKeyAsync(tokens, "unannounced", ["Read"], null);

        await Poll.UntilAsync(() => listening.Directory.AuthenticateApiKey(unannounced) is not null, TimeSpan.FromSeconds(10),
            "the reload that stands in for the lost notifications");
        var warning = listening.Log.Entries.Where(e => e.Level == LogLevel.Warning).ShouldHaveSingleItem().Message;
        warning.ShouldStartWith("Lost the notification connection for user and API key changes; reloading every 00:00:01 and reconnecting in 00:00:01");
        await Poll.UntilAsync(async () => await ListenersAsync(listening.Application) is [var pid] && pid != listening.Pid,
            TimeSpan.FromSeconds(15), "a new listening connection");

        // Listening again: an announced change arrives without waiting for the ten-minute interval.
        var announced = await AddKeyAsync(tokens, "announced-again", ["Read"], null);
        await NotifyAsync();
        await Poll.UntilAsync(() => listening.Directory.AuthenticateApiKey(announced) is not null, TimeSpan.FromSeconds(10), "the announced key");
    }

    sealed class Listening(NpgsqlDataSource source, SecurityDirectoryListener listener) : IAsyncDisposable
    {
        public required SecurityDirectory Directory { get; init; }
        public required RecordingLogger<SecurityDirectoryListener> Log { get; init; }
        public required string Application { get; init; }
        public int Pid { get; set; }

        public async ValueTask DisposeAsync()
        {
            await listener.StopAsync(CancellationToken.None);
            listener.Dispose();
            await source.DisposeAsync();
        }
    }

    /// <summary>A listener on a data source of its own (named, so its backend can be found), once it listens and has loaded.</summary>
    async Task<Listening> StartListenerAsync(ApiKeyTokens tokens, TimeSpan reloadInterval)
    {
        var application = $"listener-{Guid.NewGuid():N}"[..30];
        var source = DependencyInjection.CreateDataSource(new NpgsqlConnectionStringBuilder(database.ConnectionString) { ApplicationName = application }.ConnectionString);
        var directory = new SecurityDirectory(source, tokens);
        var log = new RecordingLogger<SecurityDirectoryListener>();
        var listener = new SecurityDirectoryListener(source, directory, new SecurityDirectoryListenerOptions(reloadInterval, TimeSpan.FromSeconds(5)), log);
        var listening = new Listening(source, listener) { Directory = directory, Log = log, Application = application };

        var loaded = await AddKeyAsync(tokens, $"loaded-{application}", ["Read"], null);
        await listener.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => directory.AuthenticateApiKey(loaded) is not null, TimeSpan.FromSeconds(15), "the listener's first load");
        await Poll.UntilAsync(async () => await ListenersAsync(application) is [_], TimeSpan.FromSeconds(15), "the listening connection");
        listening.Pid = (await ListenersAsync(application))[0];
        return listening;
    }

    async Task<List<int>> ListenersAsync(string application)
    {
        var pids = new List<int>();
        await using var command = database.DataSource.CreateCommand(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = application });
        command.Parameters.Add(new NpgsqlParameter { Value = $"LISTEN {SecurityDirectory.ChangedChannel}" });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            pids.Add(reader.GetInt32(0));
        return pids;
    }

    // The probe repeats the LISTEN: the backend's last statement started after the connection was first used.
    async Task<bool> ProbedAsync(int pid) =>
        await database.ScalarAsync<bool>("SELECT query_start > backend_start + interval '1 second' FROM pg_stat_activity WHERE pid = $1", pid);

    async Task NotifyAsync()
    {
        await using var command = database.DataSource.CreateCommand($"NOTIFY {SecurityDirectory.ChangedChannel}");
        await command.ExecuteNonQueryAsync();
    }

    async Task<string> AddUserAsync(string name, string[] roleIds)
    {
        var id = $"user-{name}-{_run}";
        await using var command = database.DataSource.CreateCommand(
            "INSERT INTO users (id, username, role_ids, password_hash, must_change_password, password_version, updated) VALUES ($1, $2, $3, 'x', false, 3, now())");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = $"{name}-{_run}" });
        command.Parameters.Add(new NpgsqlParameter { Value = roleIds });
        await command.ExecuteNonQueryAsync();
        return id;
    }

    async Task<string> AddKeyAsync(ApiKeyTokens tokens, string name, string[] permissions, string? ownerId, string? token = null)
    {
        var made = token is null ? tokens.Generate() : tokens.FromClient(token);
        await using var command = database.DataSource.CreateCommand(
            "INSERT INTO api_keys (id, title, token_prefix, token_salt, token_hash, assigned_permissions, owner_id, input_settings, created, updated) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, '{}', now(), now())");
        command.Parameters.Add(new NpgsqlParameter { Value = $"apikey-{name}-{_run}" });
        command.Parameters.Add(new NpgsqlParameter { Value = $"{name} {_run}" });
        command.Parameters.Add(new NpgsqlParameter { Value = made.Prefix });
        command.Parameters.Add(new NpgsqlParameter { Value = made.Salt });
        command.Parameters.Add(new NpgsqlParameter { Value = made.Hash });
        command.Parameters.Add(new NpgsqlParameter { Value = permissions });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)ownerId ?? DBNull.Value });
        await command.ExecuteNonQueryAsync();
        return made.Token;
    }
}

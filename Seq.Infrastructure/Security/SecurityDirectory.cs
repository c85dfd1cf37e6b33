using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Seq.Application.Security;
using Seq.Domain;
using Seq.Domain.Security;
using Seq.Domain.Users;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.ApiKeys;
using Seq.Infrastructure.Users;

namespace Seq.Infrastructure.Security;

/// <summary>
/// Users and API keys in memory, as an immutable snapshot swapped whole. It is reloaded after every local append of
/// a user or key event (before the request that made it is answered), whenever another node's append notifies
/// channel <see cref="ChangedChannel"/>, and every <see cref="SecurityDirectoryListenerOptions.ReloadInterval"/> regardless. A reload that fails marks it stale, and the
/// next request that authenticates against it reloads first.
/// </summary>
public sealed class SecurityDirectory(NpgsqlDataSource dataSource, ApiKeyTokens tokens) : ISecurityDirectory, IAppendObserver
{
    /// <summary>The PostgreSQL notification channel on which every node hears that users or API keys changed.</summary>
    public const string ChangedChannel = "seq_security_changed";

    sealed record KeyEntry(byte[] Salt, byte[] Hash, Principal Principal);

    sealed class Snapshot(Dictionary<string, DirectoryUser> users, Dictionary<string, KeyEntry[]> keysByPrefix)
    {
        public static readonly Snapshot Empty = new([], []);
        public readonly Dictionary<string, DirectoryUser> Users = users;
        public readonly Dictionary<string, KeyEntry[]>.AlternateLookup<ReadOnlySpan<char>> KeysByPrefix = keysByPrefix.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    readonly SemaphoreSlim _refreshing = new(1, 1);
    volatile Snapshot _snapshot = Snapshot.Empty;
    volatile bool _stale;
    long _requested;
    long _completed;

    public bool IsStale => _stale;

    public Principal? AuthenticateApiKey(string token)
    {
        if (!ApiKeyTokens.IsWellFormed(token))
            return null;
        if (!_snapshot.KeysByPrefix.TryGetValue(token.AsSpan(0, ApiKeyTokens.PrefixLength), out var entries))
            return null;
        foreach (var entry in entries)
            if (tokens.Matches(token, entry.Salt, entry.Hash))
                return entry.Principal;
        return null;
    }

    public DirectoryUser? FindUser(string userId) => _snapshot.Users.GetValueOrDefault(userId);

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var request = Interlocked.Increment(ref _requested);
        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            // A load that began after this request was made has already seen everything committed before it.
            if (Interlocked.Read(ref _completed) >= request)
                return;
            var covers = Interlocked.Read(ref _requested);
            try
            {
                _snapshot = await LoadAsync(cancellationToken);
            }
            catch
            {
                // A change may have committed that this snapshot does not show (a revoked key, a deleted user): the
                // next request that authenticates against it reloads first.
                _stale = true;
                throw;
            }
            _stale = false;
            Interlocked.Exchange(ref _completed, covers);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    public Task AfterCommitAsync(IReadOnlyList<IDomainEvent> events, CancellationToken cancellationToken) =>
        events.Any(IsSecurityEvent) ? RefreshAsync(cancellationToken) : Task.CompletedTask;

    // The events that change the tables this directory reads: the ones the users and API keys projections write.
    static bool IsSecurityEvent(IDomainEvent e) => UsersProjection.Projects(e.GetType()) || ApiKeysProjection.Projects(e.GetType());

    /// <summary>Adds to an append the notification, delivered at commit to every node, that the directory must reload.</summary>
    internal static void NotifyChange(ProjectionCommands commands) => commands.Notify(ChangedChannel);

    async Task<Snapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // One snapshot for both tables, so a key is never paired with a stale view of its owner.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);

        var users = new Dictionary<string, DirectoryUser>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand("SELECT id, username, role_ids, password_version FROM users", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetString(0);
                users[id] = new DirectoryUser(id, reader.GetString(1), User.PermissionsOf(reader.GetFieldValue<string[]>(2)), reader.GetInt32(3));
            }
        }

        var keys = new Dictionary<string, List<KeyEntry>>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand(
            "SELECT id, title, token_prefix, token_salt, token_hash, assigned_permissions, owner_id FROM api_keys", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var assigned = ParsePermissions(reader.GetFieldValue<string[]>(5));
                var ownerId = reader.IsDBNull(6) ? null : reader.GetString(6);
                if (ownerId is not null)
                {
                    // A personal key can do only what its owner can do now; a key whose owner is gone can do nothing.
                    if (!users.TryGetValue(ownerId, out var owner))
                        continue;
                    assigned.IntersectWith(owner.Permissions);
                }
                assigned.Add(Permission.Public);
                var principal = new Principal(PrincipalType.ApiKey, reader.GetString(1), reader.GetString(0), ownerId, assigned);
                var prefix = reader.GetString(2);
                if (!keys.TryGetValue(prefix, out var entries))
                    keys[prefix] = entries = [];
                entries.Add(new KeyEntry(reader.GetFieldValue<byte[]>(3), reader.GetFieldValue<byte[]>(4), principal));
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return new Snapshot(users, keys.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray(), StringComparer.Ordinal));
    }

    static HashSet<Permission> ParsePermissions(IEnumerable<string> names)
    {
        var permissions = new HashSet<Permission>();
        foreach (var name in names)
            if (Enum.TryParse<Permission>(name, ignoreCase: false, out var permission) && Enum.IsDefined(permission))
                permissions.Add(permission);
        return permissions;
    }
}

/// <param name="ReloadInterval">How often the directory is reloaded when no notification has come, and the listening
/// connection probed: the bound on how stale a node can be whose listening connection went silent without closing.</param>
/// <param name="ProbeTimeout">How long the probe of an idle listening connection may take before the connection is
/// given up as dead (rounded up to whole seconds).</param>
public sealed record SecurityDirectoryListenerOptions(TimeSpan ReloadInterval, TimeSpan ProbeTimeout)
{
    public static SecurityDirectoryListenerOptions Default { get; } = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));
}

/// <summary>
/// Keeps the directory current with changes made by other nodes, by listening for their notifications, and reloads
/// every <see cref="SecurityDirectoryListenerOptions.ReloadInterval"/> regardless. While the notification connection
/// is down it reloads every second instead (so a change on another node still takes effect within about a second)
/// and reconnects with a growing delay; the reconnection itself reloads.
/// </summary>
public sealed class SecurityDirectoryListener(
    NpgsqlDataSource dataSource, SecurityDirectory directory, SecurityDirectoryListenerOptions options, ILogger<SecurityDirectoryListener> logger)
    : BackgroundService
{
    static readonly TimeSpan FallbackReloadInterval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                await ListenAsync(connection, stoppingToken);

                // Anything committed while no connection was listening is picked up by this reload.
                await directory.RefreshAsync(stoppingToken);
                delay = TimeSpan.FromSeconds(1);
                while (!stoppingToken.IsCancellationRequested)
                {
                    // Woken by a notification or, failing one, by the interval: either way, reload.
                    var notified = await connection.WaitAsync(options.ReloadInterval, stoppingToken);
                    await directory.RefreshAsync(stoppingToken);
                    if (!notified)
                        await ProbeAsync(connection, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or System.IO.IOException)
            {
                logger.LogWarning(e, "Lost the notification connection for user and API key changes; reloading every {Interval} and reconnecting in {Delay}",
                    FallbackReloadInterval, delay);
                try
                {
                    await ReloadPeriodicallyAsync(delay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    // The reloads go on, on other connections, while the probe waits: a listening connection that went silent (a
    // route dropped without a word, a stalled backend) must not hold back the reload that stands in for its
    // notifications until the probe gives up on it.
    async Task ProbeAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        var probe = ListenAsync(connection, stoppingToken, options.ProbeTimeout);
        while (await Task.WhenAny(probe, Task.Delay(options.ReloadInterval, stoppingToken)) != probe)
        {
            try
            {
                await directory.RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // Marked stale: requests reload before authenticating until the database answers again.
            }
        }
        await probe;
    }

    // LISTEN again on a channel already listened to changes nothing, so it doubles as the probe of an idle connection
    // (and the backend's last statement stays one an operator recognises in pg_stat_activity).
    static async Task ListenAsync(NpgsqlConnection connection, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        await using var listen = new NpgsqlCommand($"LISTEN {SecurityDirectory.ChangedChannel}", connection);
        if (timeout is { } bound)
            listen.CommandTimeout = Math.Max(1, (int)Math.Ceiling(bound.TotalSeconds));
        await listen.ExecuteNonQueryAsync(cancellationToken);
    }

    async Task ReloadPeriodicallyAsync(TimeSpan duration, CancellationToken stoppingToken)
    {
        var until = DateTime.UtcNow + duration;
        do
        {
            await Task.Delay(FallbackReloadInterval, stoppingToken);
            try
            {
                await directory.RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // Marked stale: requests reload before authenticating until the database answers again.
            }
        }
        while (DateTime.UtcNow < until);
    }
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Seq.Application.Security;

namespace Seq.Infrastructure.Security;

/// <param name="AccountFreeFailures">Failures an account may have before each further one blocks it.</param>
/// <param name="AddressFreeFailures">Failures a client address may have before each further one blocks it; higher, because many users can share an address.</param>
/// <param name="MaximumBlock">The longest a block lasts, however many failures there were; 15 minutes when null.</param>
/// <param name="ForgetAfter">A failure this old no longer counts; one hour when null.</param>
public sealed record LoginThrottleOptions(
    int AccountFreeFailures = 5,
    int AddressFreeFailures = 20,
    TimeSpan? MaximumBlock = null,
    TimeSpan? ForgetAfter = null)
{
    public static LoginThrottleOptions Default { get; } = new();
}

/// <summary>
/// Failed logins counted in the database, per account and per client address, so that every node sees the same
/// counts. Past the free failures each further one doubles the block, from two seconds up to a maximum.
/// An attempt is counted as a failure before its password is checked (<see cref="ReserveAttemptAsync"/>), in the
/// same transaction that checks the block, and handed back when the password proves right: checked first and
/// counted afterwards, any number of concurrent guesses would all pass the check before the first was counted.
/// </summary>
public sealed class LoginThrottle : ILoginThrottle
{
    const string AccountPrefix = "account:";
    const string AddressPrefix = "address:";

    // Capping the exponent keeps 2^n and the interval arithmetic in range however long an attack goes on.
    const int MaximumDoublings = 30;

    // Forgotten rows are deleted now and then, by the failures themselves, rather than by a timer on every node.
    const int PruneOneFailureIn = 100;

    // The first key of the two-key advisory locks that serialize the attempts on one account or address; the
    // one-key locks (schema migration) are a separate space.
    const int AdvisoryLockClass = 0x4C4F4754;

    // $1 keys, $2 now, $3 the time before which failures are forgotten, $4 the maximum block, $5 and $6 the free
    // failures of an account and of an address. The count starts over when the previous failure is forgotten.
    const string FailuresSql = "CASE WHEN t.last_failure < $3 THEN 1 ELSE least(t.failures, 1000000) + 1 END";

    // Counts the attempt on every key only if none of them blocks it; the keys' advisory locks are already held,
    // so the check and the count see the same rows. Answers the block that refused the attempt, or null.
    static readonly string ReserveSql = $"""
        WITH blocked AS (
            SELECT max(blocked_until) AS until FROM login_throttle WHERE key = ANY($1) AND blocked_until > $2),
        counted AS (
            INSERT INTO login_throttle AS t (key, failures, last_failure, blocked_until)
            SELECT k.key, 1, $2, {BlockedUntilSql("1", FreeSql("k.key"))}
            FROM unnest($1::text[]) AS k(key)
            WHERE (SELECT until FROM blocked) IS NULL
            ON CONFLICT (key) DO UPDATE SET
                failures = {FailuresSql},
                last_failure = $2,
                blocked_until = {BlockedUntilSql(FailuresSql, FreeSql("t.key"))}
            RETURNING t.key)
        SELECT (SELECT until FROM blocked) AS blocked_until, (SELECT count(*) FROM counted) AS counted
        """;

    // $1 keys, $2 now, $3 and $4 the free failures of an account and of an address. Hands back one counted
    // attempt; a block that the remaining count no longer justifies ends (the epoch: see BlockedUntilSql). A block that it still justifies is
    // kept, because it may be a later attempt's.
    const string ReleaseSql = """
        UPDATE login_throttle AS t SET
            failures = greatest(t.failures - 1, 0),
            blocked_until = CASE
                WHEN t.failures - 1 > CASE WHEN starts_with(t.key, 'account:') THEN $3 ELSE $4 END THEN t.blocked_until
                ELSE timestamptz 'epoch' END
        WHERE t.key = ANY($1)
        """;

    const string PruneSql = """
        DELETE FROM login_throttle
        WHERE key IN (SELECT key FROM login_throttle WHERE last_failure < $1 AND blocked_until <= $2 LIMIT 1000)
        """;

    readonly NpgsqlDataSource _dataSource;
    readonly TimeProvider _clock;
    readonly int _accountFreeFailures;
    readonly int _addressFreeFailures;
    readonly TimeSpan _maximumBlock;
    readonly TimeSpan _forgetAfter;

    public LoginThrottle(NpgsqlDataSource dataSource, TimeProvider clock, LoginThrottleOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.AccountFreeFailures);
        ArgumentOutOfRangeException.ThrowIfNegative(options.AddressFreeFailures);

        _dataSource = dataSource;
        _clock = clock;
        _accountFreeFailures = options.AccountFreeFailures;
        _addressFreeFailures = options.AddressFreeFailures;
        _maximumBlock = options.MaximumBlock ?? TimeSpan.FromMinutes(15);
        _forgetAfter = options.ForgetAfter ?? TimeSpan.FromHours(1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_maximumBlock, TimeSpan.Zero, nameof(options.MaximumBlock));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_forgetAfter, TimeSpan.Zero, nameof(options.ForgetAfter));
    }

    /// <summary>How long the account or address is blocked, without counting anything; null when it is not.</summary>
    public async Task<TimeSpan?> BlockedForAsync(string username, string? address, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        await using var command = _dataSource.CreateCommand("SELECT max(blocked_until) FROM login_throttle WHERE key = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = Keys(username, address) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        if (await reader.IsDBNullAsync(0, cancellationToken))
            return null;

        var remaining = reader.GetFieldValue<DateTimeOffset>(0) - now;
        return remaining > TimeSpan.Zero ? remaining : null;
    }

    public async Task<TimeSpan?> ReserveAttemptAsync(string username, string? address, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var keys = Keys(username, address);

        await using var batch = _dataSource.CreateBatch();
        var locks = AddLocks(batch, keys);
        var reserve = new NpgsqlBatchCommand(ReserveSql);
        reserve.Parameters.Add(new NpgsqlParameter { Value = keys });
        reserve.Parameters.Add(new NpgsqlParameter { Value = now });
        reserve.Parameters.Add(new NpgsqlParameter { Value = now - _forgetAfter });
        reserve.Parameters.Add(new NpgsqlParameter { Value = _maximumBlock, NpgsqlDbType = NpgsqlDbType.Interval });
        reserve.Parameters.Add(new NpgsqlParameter { Value = _accountFreeFailures });
        reserve.Parameters.Add(new NpgsqlParameter { Value = _addressFreeFailures });
        batch.BatchCommands.Add(reserve);

        if (Random.Shared.Next(PruneOneFailureIn) == 0)
            batch.BatchCommands.Add(PruneCommand(now));

        DateTimeOffset? blockedUntil = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            // The lock statements come first, each with a result of its own.
            for (var i = 0; i < locks; i++)
                await reader.NextResultAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            if (!await reader.IsDBNullAsync(0, cancellationToken))
                blockedUntil = reader.GetFieldValue<DateTimeOffset>(0);
            while (await reader.NextResultAsync(cancellationToken))
            {
            }
        }

        return blockedUntil - now is { } remaining && remaining > TimeSpan.Zero ? remaining : null;
    }

    public async Task RecordSuccessAsync(string username, string? address, CancellationToken cancellationToken)
    {
        var keys = Keys(username, address);
        await using var batch = _dataSource.CreateBatch();
        AddLocks(batch, keys);

        // The account's failures are forgotten; the address only gets its reservation back: one valid login must
        // not wipe the failures an address has run up against other accounts.
        var forget = new NpgsqlBatchCommand("DELETE FROM login_throttle WHERE key = $1");
        forget.Parameters.Add(new NpgsqlParameter { Value = keys[0] });
        batch.BatchCommands.Add(forget);
        if (keys.Length > 1)
            batch.BatchCommands.Add(ReleaseCommand(keys[1..]));

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ReleaseAsync(string username, string? address, CancellationToken cancellationToken)
    {
        var keys = Keys(username, address);
        await using var batch = _dataSource.CreateBatch();
        AddLocks(batch, keys);
        batch.BatchCommands.Add(ReleaseCommand(keys));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    NpgsqlBatchCommand ReleaseCommand(string[] keys)
    {
        var release = new NpgsqlBatchCommand(ReleaseSql);
        release.Parameters.Add(new NpgsqlParameter { Value = keys });
        release.Parameters.Add(new NpgsqlParameter { Value = _clock.GetUtcNow() });
        release.Parameters.Add(new NpgsqlParameter { Value = _accountFreeFailures });
        release.Parameters.Add(new NpgsqlParameter { Value = _addressFreeFailures });
        return release;
    }

    // A batch is one implicit transaction, so these locks are held until its last statement has committed. Taken
    // in ascending order, so that two attempts that share a key never wait for each other in a cycle.
    static int AddLocks(NpgsqlBatch batch, string[] keys)
    {
        var lockKeys = keys.Select(LockKey).Distinct().Order().ToList();
        foreach (var lockKey in lockKeys)
        {
            var take = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1, $2)");
            take.Parameters.Add(new NpgsqlParameter { Value = AdvisoryLockClass });
            take.Parameters.Add(new NpgsqlParameter { Value = lockKey });
            batch.BatchCommands.Add(take);
        }
        return lockKeys.Count;
    }

    // Stable across processes and nodes, unlike string.GetHashCode.
    static int LockKey(string key) => BinaryPrimitives.ReadInt32LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Deletes rows whose failures are forgotten and that block nothing.</summary>
    internal async Task PruneAsync(CancellationToken cancellationToken)
    {
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(PruneCommand(_clock.GetUtcNow()));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    NpgsqlBatchCommand PruneCommand(DateTimeOffset now)
    {
        var prune = new NpgsqlBatchCommand(PruneSql);
        prune.Parameters.Add(new NpgsqlParameter { Value = now - _forgetAfter });
        prune.Parameters.Add(new NpgsqlParameter { Value = now });
        return prune;
    }

    static string FreeSql(string key) => $"CASE WHEN starts_with({key}, '{AccountPrefix}') THEN $5 ELSE $6 END";

    // Not blocked is the epoch, not "now": an attempt that read the clock before waiting for the keys' locks has an
    // earlier "now" than the attempt it waited for, and would take that one's "now" for a block still running.
    static string BlockedUntilSql(string failures, string free) =>
        $"CASE WHEN {failures} > {free} THEN $2 + least($4, interval '1 second' * power(2, least({failures} - {free}, {MaximumDoublings}))) ELSE {NotBlocked} END";

    const string NotBlocked = "timestamptz 'epoch'";

    static string[] Keys(string username, string? address) =>
        string.IsNullOrEmpty(address) ? [AccountKey(username)] : [AccountKey(username), AddressPrefix + address];

    static string AccountKey(string username)
    {
        ArgumentNullException.ThrowIfNull(username);
        return AccountPrefix + username.Trim().ToLowerInvariant();
    }
}

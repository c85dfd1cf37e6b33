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
/// </summary>
public sealed class LoginThrottle : ILoginThrottle
{
    const string AccountPrefix = "account:";
    const string AddressPrefix = "address:";

    // Capping the exponent keeps 2^n and the interval arithmetic in range however long an attack goes on.
    const int MaximumDoublings = 30;

    // Forgotten rows are deleted now and then, by the failures themselves, rather than by a timer on every node.
    const int PruneOneFailureIn = 100;

    // $1 keys, $2 now, $3 the time before which failures are forgotten, $4 the maximum block, $5 and $6 the free
    // failures of an account and of an address. The count starts over when the previous failure is forgotten.
    const string FailuresSql = "CASE WHEN t.last_failure < $3 THEN 1 ELSE least(t.failures, 1000000) + 1 END";

    static readonly string RecordFailureSql = $"""
        INSERT INTO login_throttle AS t (key, failures, last_failure, blocked_until)
        SELECT k.key, 1, $2, {BlockedUntilSql("1", FreeSql("k.key"))}
        FROM unnest($1::text[]) AS k(key)
        ON CONFLICT (key) DO UPDATE SET
            failures = {FailuresSql},
            last_failure = $2,
            blocked_until = {BlockedUntilSql(FailuresSql, FreeSql("t.key"))}
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

    public async Task RecordFailureAsync(string username, string? address, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();

        await using var batch = _dataSource.CreateBatch();
        var record = new NpgsqlBatchCommand(RecordFailureSql);
        record.Parameters.Add(new NpgsqlParameter { Value = Keys(username, address) });
        record.Parameters.Add(new NpgsqlParameter { Value = now });
        record.Parameters.Add(new NpgsqlParameter { Value = now - _forgetAfter });
        record.Parameters.Add(new NpgsqlParameter { Value = _maximumBlock, NpgsqlDbType = NpgsqlDbType.Interval });
        record.Parameters.Add(new NpgsqlParameter { Value = _accountFreeFailures });
        record.Parameters.Add(new NpgsqlParameter { Value = _addressFreeFailures });
        batch.BatchCommands.Add(record);

        if (Random.Shared.Next(PruneOneFailureIn) == 0)
            batch.BatchCommands.Add(PruneCommand(now));

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task RecordSuccessAsync(string username, CancellationToken cancellationToken)
    {
        // Only the account: one valid login must not wipe the failures an address has run up against other accounts.
        await using var command = _dataSource.CreateCommand("DELETE FROM login_throttle WHERE key = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = AccountKey(username) });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

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

    static string BlockedUntilSql(string failures, string free) =>
        $"CASE WHEN {failures} > {free} THEN $2 + least($4, interval '1 second' * power(2, least({failures} - {free}, {MaximumDoublings}))) ELSE $2 END";

    static string[] Keys(string username, string? address) =>
        string.IsNullOrEmpty(address) ? [AccountKey(username)] : [AccountKey(username), AddressPrefix + address];

    static string AccountKey(string username)
    {
        ArgumentNullException.ThrowIfNull(username);
        return AccountPrefix + username.Trim().ToLowerInvariant();
    }
}

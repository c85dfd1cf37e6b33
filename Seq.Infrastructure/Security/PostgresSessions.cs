using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Seq.Application.Security;

namespace Seq.Infrastructure.Security;

/// <param name="IdleTimeout">A session unused for this long ends.</param>
/// <param name="AbsoluteLifetime">A session ends this long after it started, however busy it is.</param>
public sealed record SessionOptions(TimeSpan IdleTimeout, TimeSpan AbsoluteLifetime)
{
    public static SessionOptions Default { get; } = new(TimeSpan.FromHours(12), TimeSpan.FromDays(7));
}

/// <summary>
/// Sessions in <c>user_sessions</c>, keyed by the SHA-256 of the token: a copy of the table holds nothing a client
/// could present. The token has 256 random bits, so a fast unsalted hash is enough. The CSRF token is not stored at
/// all; it is an HMAC of the session token under a subkey of the secret key.
/// </summary>
public sealed class PostgresSessions : ISessions
{
    const int TokenBytes = 32;
    const int MaximumTokenLength = 100;

    // Sliding the expiry on every request would write a row per request; once a minute is precise enough.
    static readonly TimeSpan SlideAfter = TimeSpan.FromSeconds(60);

    const int DeleteExpiredOneStartIn = 50;

    // $1 token hash, $2 now, $3 the time before which last_seen is stale, $4 the idle timeout, $5 the absolute lifetime.
    // The slide is a data-modifying CTE so that finding a session stays one round trip and writes only when stale.
    const string FindSql = """
        WITH found AS (
            SELECT token_hash, user_id, password_version, created, last_seen
            FROM user_sessions
            WHERE token_hash = $1 AND expires > $2
        ), slid AS (
            UPDATE user_sessions s
            SET last_seen = $2, expires = least($2 + $4, found.created + $5)
            FROM found
            WHERE s.token_hash = found.token_hash AND found.last_seen < $3
        )
        SELECT user_id, password_version FROM found
        """;

    const string DeleteExpiredSql = """
        DELETE FROM user_sessions
        WHERE token_hash IN (SELECT token_hash FROM user_sessions WHERE expires <= $1 LIMIT 1000)
        """;

    readonly NpgsqlDataSource _dataSource;
    readonly TimeProvider _clock;
    readonly SessionOptions _options;
    readonly byte[] _csrfKey;

    public PostgresSessions(NpgsqlDataSource dataSource, SecretKey secretKey, TimeProvider clock, SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(secretKey);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.IdleTimeout, TimeSpan.Zero, nameof(options.IdleTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.AbsoluteLifetime, TimeSpan.Zero, nameof(options.AbsoluteLifetime));

        _dataSource = dataSource;
        _clock = clock;
        _options = options;
        _csrfKey = secretKey.DeriveSubkey(SecretPurposes.SessionCsrf);
    }

    public async Task<NewSession> StartAsync(string userId, int passwordVersion, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);

        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(TokenBytes));
        var now = _clock.GetUtcNow();
        var expires = Min(now + _options.IdleTimeout, now + _options.AbsoluteLifetime);

        await using var batch = _dataSource.CreateBatch();
        var insert = new NpgsqlBatchCommand(
            "INSERT INTO user_sessions (token_hash, user_id, password_version, created, last_seen, expires) VALUES ($1, $2, $3, $4, $4, $5)");
        insert.Parameters.Add(new NpgsqlParameter { Value = TokenHash(token) });
        insert.Parameters.Add(new NpgsqlParameter { Value = userId });
        insert.Parameters.Add(new NpgsqlParameter { Value = passwordVersion });
        insert.Parameters.Add(new NpgsqlParameter { Value = now });
        insert.Parameters.Add(new NpgsqlParameter { Value = expires });
        batch.BatchCommands.Add(insert);

        // Expired rows are deleted now and then by new sessions, rather than by a timer on every node.
        if (Random.Shared.Next(DeleteExpiredOneStartIn) == 0)
            batch.BatchCommands.Add(DeleteExpiredCommand(now));

        await batch.ExecuteNonQueryAsync(cancellationToken);
        return new NewSession(token, CsrfToken(token));
    }

    public async Task<SessionUser?> FindAsync(string token, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(token))
            return null;

        var now = _clock.GetUtcNow();
        await using var command = _dataSource.CreateCommand(FindSql);
        command.Parameters.Add(new NpgsqlParameter { Value = TokenHash(token) });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = now - SlideAfter });
        command.Parameters.Add(new NpgsqlParameter { Value = _options.IdleTimeout, NpgsqlDbType = NpgsqlDbType.Interval });
        command.Parameters.Add(new NpgsqlParameter { Value = _options.AbsoluteLifetime, NpgsqlDbType = NpgsqlDbType.Interval });

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;

        return new SessionUser(reader.GetString(0), reader.GetInt32(1), CsrfToken(token));
    }

    public async Task EndAsync(string token, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(token))
            return;

        await using var command = _dataSource.CreateCommand("DELETE FROM user_sessions WHERE token_hash = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = TokenHash(token) });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task RestampAsync(string token, int passwordVersion, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(token))
            return;

        await using var command = _dataSource.CreateCommand("UPDATE user_sessions SET password_version = $2 WHERE token_hash = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = TokenHash(token) });
        command.Parameters.Add(new NpgsqlParameter { Value = passwordVersion });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal async Task DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(DeleteExpiredCommand(_clock.GetUtcNow()));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    static NpgsqlBatchCommand DeleteExpiredCommand(DateTimeOffset now)
    {
        var delete = new NpgsqlBatchCommand(DeleteExpiredSql);
        delete.Parameters.Add(new NpgsqlParameter { Value = now });
        return delete;
    }

    string CsrfToken(string token) => Base64Url.EncodeToString(HMACSHA256.HashData(_csrfKey, Encoding.UTF8.GetBytes(token)));

    static byte[] TokenHash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    static bool IsWellFormed(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaximumTokenLength)
            return false;
        foreach (var c in token)
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
                return false;
        return true;
    }

    static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}

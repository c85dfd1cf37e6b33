using System.Buffers.Text;
using System.Text;
using Npgsql;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Credentials;

public sealed class PostgresSessionsTests(CredentialsDatabase database) : IClassFixture<CredentialsDatabase>
{
    readonly ManualClock _clock = new();
    readonly SecretKey _secretKey = SecretKey.Generate();
    readonly string _userId = $"user-{Guid.NewGuid():N}";

    PostgresSessions Sessions(SessionOptions? options = null) =>
        new(database.DataSource, _secretKey, _clock, options ?? SessionOptions.Default);

    [Fact]
    public async Task A_started_session_is_found_for_its_user_with_the_same_csrf_token()
    {
        var sessions = Sessions();

        var session = await sessions.StartAsync(_userId, 3, CancellationToken.None);
        var found = await sessions.FindAsync(session.Token, CancellationToken.None);

        found.ShouldNotBeNull();
        found.UserId.ShouldBe(_userId);
        found.PasswordVersion.ShouldBe(3);
        found.CsrfToken.ShouldBe(session.CsrfToken);
        Base64Url.DecodeFromChars(session.Token).Length.ShouldBe(32);
        session.Token.ShouldMatch("^[A-Za-z0-9_-]{43}$");
        session.CsrfToken.ShouldNotBe(session.Token);
    }

    [Fact]
    public async Task Every_session_has_its_own_token_and_csrf_token()
    {
        var sessions = Sessions();

        var first = await sessions.StartAsync(_userId, 1, CancellationToken.None);
        var second = await sessions.StartAsync(_userId, 1, CancellationToken.None);

        second.Token.ShouldNotBe(first.Token);
        second.CsrfToken.ShouldNotBe(first.CsrfToken);
    }

    [Fact]
    public async Task The_csrf_token_depends_on_the_secret_key()
    {
        var session = await Sessions().StartAsync(_userId, 1, CancellationToken.None);
        var underAnotherKey = new PostgresSessions(database.DataSource, SecretKey.Generate(), _clock, SessionOptions.Default);

        var found = await underAnotherKey.FindAsync(session.Token, CancellationToken.None);

        found.ShouldNotBeNull().CsrfToken.ShouldNotBe(session.CsrfToken);
    }

    [Fact]
    public async Task An_ended_session_is_not_found()
    {
        var sessions = Sessions();
        var session = await sessions.StartAsync(_userId, 1, CancellationToken.None);

        await sessions.EndAsync(session.Token, CancellationToken.None);

        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task Unknown_malformed_and_over_long_tokens_find_nothing()
    {
        var sessions = Sessions();
        var session = await sessions.StartAsync(_userId, 1, CancellationToken.None);

        (await sessions.FindAsync(Base64Url.EncodeToString(new byte[32]), CancellationToken.None)).ShouldBeNull();
        (await sessions.FindAsync("", CancellationToken.None)).ShouldBeNull();
        (await sessions.FindAsync($"{session.Token}'; --", CancellationToken.None)).ShouldBeNull();
        (await sessions.FindAsync(session.Token + new string('A', 100), CancellationToken.None)).ShouldBeNull();
        (await sessions.FindAsync(session.Token.ToUpperInvariant(), CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task A_token_with_dashes_and_underscores_is_found_restamped_and_ended_like_any_other()
    {
        var sessions = Sessions();
        // Base64url tokens hold '-' and '_' about half the time each: start sessions until one holds both.
        NewSession session;
        var tries = 0;
        do
        {
            session = await sessions.StartAsync(_userId, 1, CancellationToken.None);
            (++tries).ShouldBeLessThan(500, "no token with both '-' and '_' in 500 sessions");
        }
        while (!session.Token.Contains('-') || !session.Token.Contains('_'));

        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldNotBeNull().CsrfToken.ShouldBe(session.CsrfToken);
        await sessions.RestampAsync(session.Token, 7, CancellationToken.None);
        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldNotBeNull().PasswordVersion.ShouldBe(7);
        await sessions.EndAsync(session.Token, CancellationToken.None);
        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task A_null_token_finds_ends_and_restamps_nothing_without_throwing()
    {
        var sessions = Sessions();

        (await sessions.FindAsync(null!, CancellationToken.None)).ShouldBeNull();
        await sessions.EndAsync(null!, CancellationToken.None);
        await sessions.RestampAsync(null!, 2, CancellationToken.None);
    }

    [Fact]
    public async Task A_session_idle_for_longer_than_the_idle_timeout_is_not_found()
    {
        var sessions = Sessions();
        var session = await sessions.StartAsync(_userId, 1, CancellationToken.None);

        _clock.Advance(SessionOptions.Default.IdleTimeout);

        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task Using_a_session_slides_its_expiry_past_the_original_idle_timeout()
    {
        var sessions = Sessions(new SessionOptions(TimeSpan.FromHours(1), TimeSpan.FromDays(1)));
        var session = await sessions.StartAsync(_userId, 1, CancellationToken.None);

        _clock.Advance(TimeSpan.FromMinutes(50));
        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldNotBeNull();
        _clock.Advance(TimeSpan.FromMinutes(50));

        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldNotBeNull();
        (await ExpiresAsync(session.Token)).ShouldBe(_clock.GetUtcNow() + TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task A_session_used_again_within_a_minute_is_not_written_to()
    {
        var sessions = Sessions();
        var session = await sessions.StartAsync(_userId, 1, CancellationToken.None);
        var expires = await ExpiresAsync(session.Token);

        _clock.Advance(TimeSpan.FromSeconds(59));
        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldNotBeNull();

        (await ExpiresAsync(session.Token)).ShouldBe(expires);
        _clock.Advance(TimeSpan.FromSeconds(2));
        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldNotBeNull();
        (await ExpiresAsync(session.Token)).ShouldBe(_clock.GetUtcNow() + SessionOptions.Default.IdleTimeout);
    }

    [Fact]
    public async Task Sliding_never_carries_a_session_past_its_absolute_lifetime()
    {
        var sessions = Sessions(new SessionOptions(TimeSpan.FromHours(1), TimeSpan.FromHours(3)));
        var started = _clock.GetUtcNow();
        var session = await sessions.StartAsync(_userId, 1, CancellationToken.None);

        while (_clock.GetUtcNow() < started + TimeSpan.FromHours(2.5))
        {
            _clock.Advance(TimeSpan.FromMinutes(30));
            (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldNotBeNull();
        }

        (await ExpiresAsync(session.Token)).ShouldBe(started + TimeSpan.FromHours(3));
        _clock.Advance(TimeSpan.FromMinutes(30));
        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task A_session_never_outlives_an_absolute_lifetime_shorter_than_the_idle_timeout()
    {
        var sessions = Sessions(new SessionOptions(TimeSpan.FromHours(1), TimeSpan.FromMinutes(10)));
        var session = await sessions.StartAsync(_userId, 1, CancellationToken.None);

        _clock.Advance(TimeSpan.FromMinutes(10));

        (await sessions.FindAsync(session.Token, CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task The_table_never_holds_the_token_itself()
    {
        var session = await Sessions().StartAsync(_userId, 1, CancellationToken.None);
        var tokenText = Encoding.UTF8.GetBytes(session.Token);
        var tokenBytes = Base64Url.DecodeFromChars(session.Token);

        await using var command = database.DataSource.CreateCommand("SELECT row_to_json(s)::text, token_hash FROM user_sessions s WHERE user_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = _userId });
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).ShouldBeTrue();
        var row = reader.GetString(0);
        var tokenHash = reader.GetFieldValue<byte[]>(1);

        tokenHash.Length.ShouldBe(32);
        tokenHash.ShouldNotBe(tokenBytes);
        tokenHash.AsSpan().IndexOf(tokenText.AsSpan(0, 16)).ShouldBe(-1);
        row.ShouldNotContain(session.Token);
        row.ShouldNotContain(session.CsrfToken);
        row.ShouldNotContain(Convert.ToHexStringLower(tokenBytes));
        row.ShouldNotContain(Convert.ToHexStringLower(tokenText));
        row.ShouldNotContain(Convert.ToBase64String(tokenBytes).TrimEnd('='));
        (await reader.ReadAsync()).ShouldBeFalse();
    }

    [Fact]
    public async Task A_restamp_changes_the_password_version_of_that_session_only()
    {
        var sessions = Sessions();
        var kept = await sessions.StartAsync(_userId, 1, CancellationToken.None);
        var other = await sessions.StartAsync(_userId, 1, CancellationToken.None);

        await sessions.RestampAsync(kept.Token, 2, CancellationToken.None);

        (await sessions.FindAsync(kept.Token, CancellationToken.None)).ShouldNotBeNull().PasswordVersion.ShouldBe(2);
        (await sessions.FindAsync(other.Token, CancellationToken.None)).ShouldNotBeNull().PasswordVersion.ShouldBe(1);
    }

    [Fact]
    public async Task Deleting_expired_sessions_keeps_the_live_ones()
    {
        var sessions = Sessions(new SessionOptions(TimeSpan.FromHours(1), TimeSpan.FromDays(1)));
        var expired = await sessions.StartAsync(_userId, 1, CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(90));
        var live = await sessions.StartAsync(_userId, 1, CancellationToken.None);

        await sessions.DeleteExpiredAsync(CancellationToken.None);

        (await database.ScalarAsync<long>("SELECT count(*) FROM user_sessions WHERE user_id = $1", _userId)).ShouldBe(1);
        (await sessions.FindAsync(live.Token, CancellationToken.None)).ShouldNotBeNull();
        (await sessions.FindAsync(expired.Token, CancellationToken.None)).ShouldBeNull();
    }

    async Task<DateTimeOffset> ExpiresAsync(string token)
    {
        await using var command = database.DataSource.CreateCommand("SELECT expires FROM user_sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))");
        command.Parameters.Add(new NpgsqlParameter { Value = token });
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).ShouldBeTrue();
        return reader.GetFieldValue<DateTimeOffset>(0);
    }
}

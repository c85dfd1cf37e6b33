using Seq.Infrastructure.Security;

namespace Seq.Tests.Credentials;

public sealed class LoginThrottleTests(CredentialsDatabase database) : IClassFixture<CredentialsDatabase>
{
    readonly ManualClock _clock = new();
    readonly string _username = $"user-{Guid.NewGuid():N}";
    readonly string _address = $"10.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}.{Guid.NewGuid():N}";

    LoginThrottle Throttle(LoginThrottleOptions? options = null) =>
        new(database.DataSource, _clock, options ?? LoginThrottleOptions.Default);

    [Fact]
    public async Task Five_failures_leave_an_account_open_and_the_sixth_blocks_it_for_two_seconds_then_the_seventh_for_four()
    {
        var throttle = Throttle();

        await FailAsync(throttle, _username, null, 5);
        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBeNull();

        await FailAsync(throttle, _username, null, 1);
        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(0.5));
        _clock.Advance(TimeSpan.FromSeconds(0.5));
        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBeNull();

        await FailAsync(throttle, _username, null, 1);
        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task A_block_never_exceeds_the_maximum()
    {
        var throttle = Throttle(new LoginThrottleOptions(MaximumBlock: TimeSpan.FromMinutes(1)));

        await FailWaitingOutEachBlockAsync(throttle, _username, null, 60);

        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task An_address_is_blocked_only_after_twenty_failures_across_any_accounts()
    {
        var throttle = Throttle();

        for (var i = 0; i < 20; i++)
            (await throttle.ReserveAttemptAsync($"{_username}-{i}", _address, CancellationToken.None)).ShouldBeNull();
        (await throttle.BlockedForAsync($"{_username}-new", _address, CancellationToken.None)).ShouldBeNull();

        (await throttle.ReserveAttemptAsync($"{_username}-20", _address, CancellationToken.None)).ShouldBeNull();
        (await throttle.BlockedForAsync($"{_username}-new", _address, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
        (await throttle.BlockedForAsync($"{_username}-new", $"{_address}-elsewhere", CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task A_success_forgets_the_accounts_failures_but_gives_the_address_back_only_its_own_attempt()
    {
        var throttle = Throttle();
        await FailAsync(throttle, _username, _address, 5);
        for (var i = 0; i < 15; i++)
            (await throttle.ReserveAttemptAsync($"{_username}-{i}", _address, CancellationToken.None)).ShouldBeNull();

        // The sixth attempt on the account and the 21st from the address is reserved, and blocks both, until it proves right.
        (await throttle.ReserveAttemptAsync(_username, _address, CancellationToken.None)).ShouldBeNull();
        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
        (await throttle.BlockedForAsync($"{_username}-other", _address, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
        await throttle.RecordSuccessAsync(_username, _address, CancellationToken.None);

        (await throttle.BlockedForAsync(_username, _address, CancellationToken.None)).ShouldBeNull();
        (await CountRowsAsync($"account:{_username}")).ShouldBe(0);
        (await database.ScalarAsync<int>("SELECT failures FROM login_throttle WHERE key = $1", $"address:{_address}")).ShouldBe(20);
        (await throttle.ReserveAttemptAsync($"{_username}-other", _address, CancellationToken.None)).ShouldBeNull();
        (await throttle.BlockedForAsync($"{_username}-new", _address, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Forty_concurrent_attempts_on_a_fresh_account_are_six_reservations_and_thirty_four_refusals_that_count_nowhere()
    {
        var throttle = Throttle();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ =>
            Task.Run(() => throttle.ReserveAttemptAsync(_username, _address, CancellationToken.None))));

        outcomes.Count(o => o is null).ShouldBe(6);
        outcomes.Where(o => o is not null).ShouldAllBe(o => o == TimeSpan.FromSeconds(2));
        (await database.ScalarAsync<int>("SELECT failures FROM login_throttle WHERE key = $1", $"account:{_username}")).ShouldBe(6);
        (await database.ScalarAsync<int>("SELECT failures FROM login_throttle WHERE key = $1", $"address:{_address}")).ShouldBe(6);
    }

    [Fact]
    public async Task A_blocked_attempt_is_refused_without_being_counted()
    {
        var throttle = Throttle();
        await FailAsync(throttle, _username, null, 6);

        (await throttle.ReserveAttemptAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
        _clock.Advance(TimeSpan.FromSeconds(1));
        (await throttle.ReserveAttemptAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(1));

        (await database.ScalarAsync<int>("SELECT failures FROM login_throttle WHERE key = $1", $"account:{_username}")).ShouldBe(6);
    }

    [Fact]
    public async Task An_attempt_that_read_the_clock_before_an_earlier_counted_one_is_not_taken_for_blocked()
    {
        // Two logins of one account at once (two nodes, or one): each reads the clock, then waits for the keys' locks,
        // so the one counted second may carry the earlier time. A free failure must not look like a block to it.
        var later = Throttle();
        var earlier = new LoginThrottle(database.DataSource, new ManualClock(_clock.GetUtcNow() - TimeSpan.FromMilliseconds(300)), LoginThrottleOptions.Default);

        (await later.ReserveAttemptAsync(_username, _address, CancellationToken.None)).ShouldBeNull();
        (await earlier.ReserveAttemptAsync(_username, _address, CancellationToken.None)).ShouldBeNull();

        await later.ReleaseAsync(_username, _address, CancellationToken.None);
        (await earlier.ReserveAttemptAsync(_username, _address, CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task A_released_attempt_is_not_counted_and_lifts_the_block_it_caused()
    {
        var throttle = Throttle();
        await FailAsync(throttle, _username, null, 6);
        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));

        await throttle.ReleaseAsync(_username, null, CancellationToken.None);

        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBeNull();
        (await database.ScalarAsync<int>("SELECT failures FROM login_throttle WHERE key = $1", $"account:{_username}")).ShouldBe(5);
        await FailAsync(throttle, _username, null, 1);
        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Failures_older_than_the_forget_period_start_the_count_over()
    {
        var throttle = Throttle(new LoginThrottleOptions(ForgetAfter: TimeSpan.FromMinutes(10)));
        await FailAsync(throttle, _username, null, 5);

        _clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        await FailAsync(throttle, _username, null, 5);

        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBeNull();
        await FailAsync(throttle, _username, null, 1);
        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Failures_within_the_forget_period_keep_counting()
    {
        var throttle = Throttle(new LoginThrottleOptions(ForgetAfter: TimeSpan.FromMinutes(10)));
        await FailAsync(throttle, _username, null, 5);

        _clock.Advance(TimeSpan.FromMinutes(9));
        await FailAsync(throttle, _username, null, 1);

        (await throttle.BlockedForAsync(_username, null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Two_different_usernames_do_not_share_an_account_block()
    {
        var throttle = Throttle();

        await FailAsync(throttle, $"{_username}-alice", null, 6);

        (await throttle.BlockedForAsync($"{_username}-alice", null, CancellationToken.None)).ShouldNotBeNull();
        (await throttle.BlockedForAsync($"{_username}-bob", null, CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task Usernames_count_as_one_account_whatever_their_case_and_surrounding_spaces()
    {
        var throttle = Throttle();

        string[] spellings = [_username.ToUpperInvariant(), $" {_username} ", $"{char.ToUpperInvariant(_username[0])}{_username[1..]}", $"{_username}\t", $"\n{_username.ToUpperInvariant()}", _username];
        foreach (var spelling in spellings)
            (await throttle.ReserveAttemptAsync(spelling, null, CancellationToken.None)).ShouldBeNull();

        (await throttle.BlockedForAsync(_username.ToUpperInvariant(), null, CancellationToken.None)).ShouldBe(TimeSpan.FromSeconds(2));
        (await CountRowsAsync($"account:{_username}")).ShouldBe(1);
    }

    [Fact]
    public async Task Pruning_deletes_forgotten_rows_that_block_nothing_and_keeps_the_rest()
    {
        var throttle = Throttle(new LoginThrottleOptions(ForgetAfter: TimeSpan.FromMinutes(10)));
        await FailAsync(throttle, $"{_username}-old", _address, 1);
        _clock.Advance(TimeSpan.FromMinutes(11));
        await FailAsync(throttle, $"{_username}-recent", null, 1);

        await throttle.PruneAsync(CancellationToken.None);

        (await CountRowsAsync($"account:{_username}-old")).ShouldBe(0);
        (await CountRowsAsync($"address:{_address}")).ShouldBe(0);
        (await CountRowsAsync($"account:{_username}-recent")).ShouldBe(1);
    }

    /// <summary>Attempts that the throttle lets through and that then fail, as a wrong password does.</summary>
    static async Task FailAsync(LoginThrottle throttle, string username, string? address, int times)
    {
        for (var i = 0; i < times; i++)
            (await throttle.ReserveAttemptAsync(username, address, CancellationToken.None)).ShouldBeNull();
    }

    /// <summary>Failures by a patient attacker, who waits out each block before guessing again.</summary>
    async Task FailWaitingOutEachBlockAsync(LoginThrottle throttle, string username, string? address, int times)
    {
        for (var i = 0; i < times; i++)
        {
            if (await throttle.BlockedForAsync(username, address, CancellationToken.None) is { } wait)
                _clock.Advance(wait);
            (await throttle.ReserveAttemptAsync(username, address, CancellationToken.None)).ShouldBeNull();
        }
    }

    async Task<long> CountRowsAsync(string key) =>
        await database.ScalarAsync<long>("SELECT count(*) FROM login_throttle WHERE key = $1", key);
}

using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Infrastructure.Security;
using Seq.Tests.Credentials;
using Seq.Tests.Support;

namespace Seq.Tests.Users;

/// <summary>
/// Concurrent guesses against a real server. The throttle's clock stands still, so that a block cannot run out
/// while a burst is still arriving on a busy machine; the database, HTTP and password hashing are real.
/// </summary>
public sealed class LoginThrottlingTests : IAsyncLifetime
{
    readonly ManualClock _throttleClock = new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
    TestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await TestServer.StartAsync(o => o with
        {
            ConfigureServices = services => services.AddSingleton<ILoginThrottle>(provider =>
                new LoginThrottle(provider.GetRequiredService<NpgsqlDataSource>(), _throttleClock, LoginThrottleOptions.Default)),
        });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task Forty_concurrent_wrong_passwords_against_a_fresh_account_get_six_password_checks_and_the_rest_429_and_then_the_right_one_is_refused_too()
    {
        var username = Unique("victor");
        await _server.CreateUserAsync(username, "victor-password-1", BuiltInRoles.UserReadOnly.Id);

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            using var response = await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = $"guess-{i}" });
            return (response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta, Body: await response.Content.ReadAsStringAsync());
        }));

        // Every answer other than 429 is a password that was checked.
        answers.Count(a => a.StatusCode == HttpStatusCode.BadRequest).ShouldBe(6);
        answers.Where(a => a.StatusCode == HttpStatusCode.BadRequest).ShouldAllBe(a => a.Body.Contains("Invalid username or password."));
        answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests).ShouldBe(34);
        answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests)
            .ShouldAllBe(a => a.RetryAfter >= TimeSpan.FromSeconds(1) && a.Body.StartsWith("{\"Error\":", StringComparison.Ordinal));

        using var right = await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = "victor-password-1" });
        right.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        right.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ShouldBe(2);

        _throttleClock.Advance(TimeSpan.FromSeconds(2));
        (await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = "victor-password-1" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Concurrent_wrong_current_passwords_on_a_password_change_are_throttled_and_then_the_right_one_gets_429_while_blocked()
    {
        var username = Unique("wendy");
        await _server.CreateUserAsync(username, "wendy-password-1", BuiltInRoles.UserReadOnly.Id);
        var session = await _server.LoginAsync(username, "wendy-password-1");

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await session.PutAsJsonAsync("/api/users/current/password", new { Password = $"guess-{i}", NewPassword = "wendy-password-2" });
            return response.StatusCode;
        }));

        answers.Count(a => a == HttpStatusCode.BadRequest).ShouldBe(6);
        answers.Count(a => a == HttpStatusCode.TooManyRequests).ShouldBe(14);

        using var right = await session.PutAsJsonAsync("/api/users/current/password", new { Password = "wendy-password-1", NewPassword = "wendy-password-2" });
        right.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        right.Headers.RetryAfter.ShouldNotBeNull();

        // Once the block is over, the password is still the old one: nothing was changed while guessing.
        _throttleClock.Advance(TimeSpan.FromSeconds(2));
        (await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = "wendy-password-1" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Wrong_current_passwords_one_after_another_are_each_counted_and_block_the_login_of_the_same_account()
    {
        var username = Unique("yvonne");
        await _server.CreateUserAsync(username, "yvonne-password-1", BuiltInRoles.UserReadOnly.Id);
        var session = await _server.LoginAsync(username, "yvonne-password-1");

        // One at a time, so nothing overlaps: five free failures, the sixth is checked and blocks.
        for (var i = 0; i < 6; i++)
            (await session.PutAsJsonAsync("/api/users/current/password", new { Password = $"guess-{i}", NewPassword = "yvonne-password-2" }))
                .StatusCode.ShouldBe(HttpStatusCode.BadRequest, $"guess {i}");

        using var seventh = await session.PutAsJsonAsync("/api/users/current/password", new { Password = "guess-6", NewPassword = "yvonne-password-2" });
        seventh.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        seventh.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ShouldBe(2);

        // The failures were counted against the account, not only this route: the right password on login is refused too.
        (await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = "yvonne-password-1" }))
            .StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);

        _throttleClock.Advance(TimeSpan.FromSeconds(2));
        (await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = "yvonne-password-1" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Wrong_passwords_on_login_and_on_a_password_change_add_up_on_one_account()
    {
        var username = Unique("zoe");
        await _server.CreateUserAsync(username, "zoe-password-1", BuiltInRoles.UserReadOnly.Id);
        var session = await _server.LoginAsync(username, "zoe-password-1");

        for (var i = 0; i < 3; i++)
            (await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = $"guess-{i}" }))
                .StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        for (var i = 3; i < 6; i++)
            (await session.PutAsJsonAsync("/api/users/current/password", new { Password = $"guess-{i}", NewPassword = "zoe-password-2" }))
                .StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        (await session.PutAsJsonAsync("/api/users/current/password", new { Password = "zoe-password-1", NewPassword = "zoe-password-2" }))
            .StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task A_right_current_password_forgets_the_earlier_wrong_ones()
    {
        var username = Unique("xavier");
        await _server.CreateUserAsync(username, "xavier-password-1", BuiltInRoles.UserReadOnly.Id);
        var session = await _server.LoginAsync(username, "xavier-password-1");
        for (var i = 0; i < 5; i++)
            (await session.PutAsJsonAsync("/api/users/current/password", new { Password = $"guess-{i}", NewPassword = "xavier-password-2" }))
                .StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        (await session.PutAsJsonAsync("/api/users/current/password", new { Password = "xavier-password-1", NewPassword = "xavier-password-2" }))
            .StatusCode.ShouldBe(HttpStatusCode.NoContent);

        for (var i = 0; i < 5; i++)
            (await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = $"guess-{i}" }))
                .StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = "xavier-password-2" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Seq.Domain.Security;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;
using Xunit.Abstractions;

namespace Seq.Tests.Users;

public sealed class LoginTimingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_unknown_user_and_a_known_user_with_a_wrong_password_take_the_same_time_to_refuse()
    {
        // Throttling would answer both with a fast 429 long before fifty attempts; it is tested on its own.
        await using var server = await TestServer.StartAsync(o => o with { LoginThrottle = new LoginThrottleOptions(1_000_000, 1_000_000) });
        await server.CreateUserAsync("known-user", "known-password-1", BuiltInRoles.UserReadOnly.Id);
        var client = server.CreateClient();

        async Task<double> AttemptAsync(string username)
        {
            var watch = Stopwatch.StartNew();
            using var response = await client.PostAsJsonAsync("/api/users/login", new { Username = username, Password = "wrong-password" });
            watch.Stop();
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            return watch.Elapsed.TotalMilliseconds;
        }

        await AttemptAsync("known-user");
        await AttemptAsync("unknown-user");
        var known = new List<double>();
        var unknown = new List<double>();
        for (var i = 0; i < 50; i++)
        {
            // Interleaved, so that the machine's noise falls on both alike.
            known.Add(await AttemptAsync("known-user"));
            unknown.Add(await AttemptAsync($"unknown-{i}"));
        }

        // The fastest of each: a busy machine only ever adds time, so the minimum is the cost of the work itself
        // (the medians drifted 24 % apart at a load of 10 on two cores). Skipping the hash would still show at once.
        var ratio = unknown.Min() / known.Min();
        output.WriteLine($"fastest known {known.Min():F1} ms, unknown {unknown.Min():F1} ms, ratio {ratio:F3}; medians {Median(known):F1} and {Median(unknown):F1} ms");
        ratio.ShouldBeInRange(1 / 1.15, 1.15);
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return (sorted[sorted.Count / 2] + sorted[(sorted.Count - 1) / 2]) / 2;
    }
}

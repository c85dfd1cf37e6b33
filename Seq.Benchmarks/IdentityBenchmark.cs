using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Seq.Api.Hosting;
using Seq.Application.ApiKeys;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Infrastructure.Security;
using Serilog;

namespace Seq.Benchmarks;

/// <summary>
/// Issue 4's targets, against a real server on Kestrel over a fresh database in the same process: the in-memory API
/// key check for known, unknown and malformed tokens beside one PBKDF2 verification, the same check end to end over
/// HTTP, and the latency of unrelated requests while 50 clients log in without pause, beside the same traffic alone.
/// </summary>
sealed class IdentityBenchmark(string serverConnectionString, TimeSpan phase, int rounds)
{
    const string AdminPassword = "bench-admin-password-1";
    const string UserPassword = "bench-user-password-1";
    const string ApiKeyHeader = "X-Seq-ApiKey";
    const string CsrfHeader = "X-Seq-CsrfToken";
    const string TokenAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const int KeyCount = 1000;
    const int CallsPerCase = 1_000_000;
    const int Batch = 1000;
    const int UnrelatedClients = 4;
    const int LoginClients = 50;
    const string UnrelatedPath = "/api/settings";

    static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    public async Task<IReadOnlyList<string>> RunAsync()
    {
        var database = "bench_identity_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var maintenance = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await ExecuteAsync(maintenance, $"CREATE DATABASE {database}");
        try
        {
            return await RunOnDatabaseAsync(new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = database }.ConnectionString);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(maintenance, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    async Task<IReadOnlyList<string>> RunOnDatabaseAsync(string connectionString)
    {
        var logger = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Console().CreateLogger();
        var options = new ServerOptions(connectionString, ["http://127.0.0.1:0"], SecretKey.Generate())
        {
            FirstRun = new FirstRunOptions(AdminPassword: AdminPassword),
            Limits = RequestLimits.Default with { WritesPerSecondPerAddress = 0 },
            LoginThrottle = new LoginThrottleOptions(AccountFreeFailures: 1_000_000, AddressFreeFailures: 1_000_000),
            Console = TextWriter.Null,
        };
        var app = SeqServer.Build(options, logger);
        await SeqServer.StartAsync(app, CancellationToken.None);
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            using var admin = NewClient(address, 8, cookies: new CookieContainer());
            var adminId = await LoginAsync(admin, "admin", AdminPassword);
            var readKey = await CreateReadKeyAsync(admin);

            var directory = app.Services.GetRequiredService<ISecurityDirectory>();
            var adminUser = directory.FindUser(adminId) ?? throw new InvalidOperationException("The administrator is not in the security directory.");
            var adminPrincipal = new Principal(PrincipalType.User, adminUser.Username, adminUser.Id, null, adminUser.Permissions);
            Console.WriteLine($"creating {KeyCount} API keys");
            var tokens = await CreateKeysAsync(app.Services, adminPrincipal);
            await directory.RefreshAsync(CancellationToken.None);

            var report = new List<string>();
            report.AddRange(MeasureKeyChecks(directory, [readKey, .. tokens]));
            report.AddRange(await MeasureHttpAsync(address, readKey));

            Console.WriteLine($"creating {LoginClients} users");
            var usernames = await CreateUsersAsync(admin);
            report.AddRange(await MeasureLoginsAsync(address, readKey, usernames));
            return report;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    IEnumerable<string> MeasureKeyChecks(ISecurityDirectory directory, string[] tokens)
    {
        var known = tokens[tokens.Length / 2];
        var prefixes = tokens.Select(t => t[..ApiKeyTokens.PrefixLength]).ToHashSet(StringComparer.Ordinal);
        string unknown;
        do
            unknown = RandomNumberGenerator.GetString(TokenAlphabet, ApiKeyTokens.TokenLength);
        while (prefixes.Contains(unknown[..ApiKeyTokens.PrefixLength]));
        var sharingPrefix = known[..ApiKeyTokens.PrefixLength] + RandomNumberGenerator.GetString(TokenAlphabet, ApiKeyTokens.TokenLength - ApiKeyTokens.PrefixLength);
        var sharedBucket = tokens.Count(t => t.StartsWith(known[..ApiKeyTokens.PrefixLength], StringComparison.Ordinal));

        var cases = new (string Name, string Token, bool Found)[]
        {
            ($"Known token ({tokens.Length:N0} keys loaded)", known, true),
            ("Unknown well-formed token, unknown prefix", unknown, false),
            ($"Unknown token sharing a known prefix ({sharedBucket} key(s) under it, so {sharedBucket} HMAC)", sharingPrefix, false),
            ("Malformed token (23 characters)", known[..^1], false),
        };
        foreach (var (name, token, found) in cases)
            if (directory.AuthenticateApiKey(token) is not null != found)
                throw new InvalidOperationException($"{name}: the directory answered {(found ? "null" : "a principal")}.");

        foreach (var (_, token, _) in cases)
            TimeChecks(directory, token, 300);

        var hasher = new PasswordHasher();
        var storedHash = hasher.Hash(UserPassword);
        if (hasher.Verify(UserPassword, storedHash) != PasswordVerification.Succeeded)
            throw new InvalidOperationException("The PBKDF2 verification failed.");

        var perCall = cases.Select(_ => new List<double>()).ToArray();
        var verifications = new List<double>();
        var batchesPerRound = CallsPerCase / Batch / rounds;
        for (var round = 1; round <= rounds; round++)
        {
            // Interleaved, so that the machine's noise falls on every case alike.
            for (var i = 0; i < cases.Length; i++)
                perCall[i].AddRange(TimeChecks(directory, cases[i].Token, batchesPerRound));
            for (var i = 0; i < 3; i++)
            {
                var started = Stopwatch.GetTimestamp();
                hasher.Verify(UserPassword, storedHash);
                verifications.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
            Console.WriteLine($"round {round}: " + string.Join(", ", cases.Select((c, i) => $"{perCall[i].Skip(perCall[i].Count - batchesPerRound).Average():F3} µs")) +
                $", PBKDF2 {verifications[^1] / 1000:F0} ms");
        }

        var pbkdf2 = Median(verifications);
        var rows = new List<string>();
        for (var i = 0; i < cases.Length; i++)
        {
            var sorted = perCall[i].Order().ToArray();
            var target = cases[i].Found ? "target ≤ 5 µs" : "no key derivation";
            rows.Add($"| `AuthenticateApiKey`: {cases[i].Name} | mean {sorted.Average():F3} µs, p99 {Percentile(sorted, 0.99):F3} µs | " +
                $"{sorted.Length * Batch:N0} calls; p99 over the means of batches of {Batch:N0}; {pbkdf2 / sorted.Average():N0}× cheaper than one PBKDF2 verification ({target}) |");
        }
        rows.Add($"| One PBKDF2-HMAC-SHA512 verification ({PasswordHasher.CurrentIterations:N0} iterations), `PasswordHasher.Verify` | median {pbkdf2 / 1000:F1} ms | {verifications.Count} verifications, interleaved with the rounds above |");
        return rows;
    }

    static double[] TimeChecks(ISecurityDirectory directory, string token, int batches)
    {
        var perCall = new double[batches];
        var found = 0;
        for (var b = 0; b < batches; b++)
        {
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < Batch; i++)
                if (directory.AuthenticateApiKey(token) is not null)
                    found++;
            perCall[b] = Stopwatch.GetElapsedTime(started).TotalMicroseconds / Batch;
        }
        GC.KeepAlive(found);
        return perCall;
    }

    async Task<IEnumerable<string>> MeasureHttpAsync(Uri address, string readKey)
    {
        var unknownKey = RandomNumberGenerator.GetString(TokenAlphabet, ApiKeyTokens.TokenLength);
        var cases = new (string Name, string Path, string? Key, HttpStatusCode Expected)[]
        {
            ("`GET /api/roles` with a Read API key (in memory, no database)", "/api/roles", readKey, HttpStatusCode.OK),
            ("`GET /api` anonymous (one settings read from PostgreSQL)", "/api", null, HttpStatusCode.OK),
            ("`GET /api/roles` with an unknown API key (401)", "/api/roles", unknownKey, HttpStatusCode.Unauthorized),
        };
        var clients = cases.Select(c => NewClient(address, UnrelatedClients, apiKey: c.Key)).ToArray();
        try
        {
            var duration = TimeSpan.FromSeconds(Math.Max(2, phase.TotalSeconds / 3));
            for (var i = 0; i < cases.Length; i++)
                await ClosedLoopAsync(clients[i], cases[i].Path, cases[i].Expected, TimeSpan.FromSeconds(2));

            var rates = cases.Select(_ => new List<double>()).ToArray();
            var latencies = cases.Select(_ => new List<double>()).ToArray();
            for (var round = 1; round <= rounds; round++)
            {
                for (var i = 0; i < cases.Length; i++)
                {
                    var (rate, measured) = await ClosedLoopAsync(clients[i], cases[i].Path, cases[i].Expected, duration);
                    rates[i].Add(rate);
                    latencies[i].AddRange(measured);
                }
                Console.WriteLine($"round {round}: " + string.Join(", ", rates.Select(r => $"{r[^1]:F0}/s")));
            }

            return cases.Select((c, i) =>
            {
                var sorted = latencies[i].Order().ToArray();
                return $"| HTTP: {c.Name}, {UnrelatedClients} clients in a closed loop | {Median(rates[i]):N0} requests/s | " +
                    $"median of {rounds} rounds of {duration.TotalSeconds:F0} s; latency p50 {Percentile(sorted, 0.5):F2} ms, p99 {Percentile(sorted, 0.99):F2} ms (context, no target) |";
            }).ToList();
        }
        finally
        {
            foreach (var client in clients)
                client.Dispose();
        }
    }

    async Task<IEnumerable<string>> MeasureLoginsAsync(Uri address, string readKey, string[] usernames)
    {
        using var unrelated = NewClient(address, UnrelatedClients, apiKey: readKey);
        using var logins = NewClient(address, LoginClients);

        await RunPhaseAsync(unrelated, null, usernames, TimeSpan.FromSeconds(2));
        await RunPhaseAsync(unrelated, logins, usernames, TimeSpan.FromSeconds(3));

        var baselines = new List<PhaseResult>();
        var loads = new List<PhaseResult>();
        for (var round = 1; round <= rounds; round++)
        {
            baselines.Add(await RunPhaseAsync(unrelated, null, usernames, phase));
            Console.WriteLine($"round {round} baseline: {baselines[^1]}");
            loads.Add(await RunPhaseAsync(unrelated, logins, usernames, phase));
            Console.WriteLine($"round {round} logins:   {loads[^1]}");
        }

        var baseline = baselines.SelectMany(r => r.Unrelated).Order().ToArray();
        var load = loads.SelectMany(r => r.Unrelated).Order().ToArray();
        var loginLatencies = loads.SelectMany(r => r.Logins).Order().ToArray();
        var worstP99 = loads.Max(r => r.UnrelatedP99);
        return
        [
            $"| Unrelated `GET {UnrelatedPath}` (Read API key), {UnrelatedClients} clients, no logins | p50 {Percentile(baseline, 0.5):F2} ms, p95 {Percentile(baseline, 0.95):F2} ms, p99 {Percentile(baseline, 0.99):F2} ms | " +
                $"{baseline.Length:N0} requests over {rounds} rounds of {phase.TotalSeconds:F0} s ({Median(baselines.Select(r => r.UnrelatedRate)):N0}/s); per-round p99 {string.Join(" / ", baselines.Select(r => r.UnrelatedP99.ToString("F1", CultureInfo.InvariantCulture)))} ms |",
            $"| The same while {LoginClients} clients log in without pause | p50 {Percentile(load, 0.5):F2} ms, p95 {Percentile(load, 0.95):F2} ms, p99 {Percentile(load, 0.99):F2} ms | " +
                $"{load.Length:N0} requests ({Median(loads.Select(r => r.UnrelatedRate)):N0}/s); per-round p99 {string.Join(" / ", loads.Select(r => r.UnrelatedP99.ToString("F1", CultureInfo.InvariantCulture)))} ms; " +
                $"**worst round p99 {worstP99:F1} ms** (target ≤ 50 ms) |",
            $"| Logins ({LoginClients} concurrent, correct passwords) | {Median(loads.Select(r => r.LoginRate)):F1} logins/s, latency p50 {Percentile(loginLatencies, 0.5) / 1000:F2} s | " +
                $"{loginLatencies.Length:N0} logins completed inside the phases; {PasswordHashingPool.DefaultThreads} hashing thread(s) on {Environment.ProcessorCount} cores; " +
                $"the p50 includes each phase's ramp, the steady state of a closed loop of {LoginClients} is {LoginClients} / rate ≈ {LoginClients / Median(loads.Select(r => r.LoginRate)):F1} s |",
            $"| Machine during the phases (no logins / logins) | CPU busy {Median(baselines.Select(r => r.MachineBusy)):P0} / {Median(loads.Select(r => r.MachineBusy)):P0}, steal {Median(baselines.Select(r => r.MachineSteal)):P0} / {Median(loads.Select(r => r.MachineSteal)):P0} | " +
                $"from /proc/stat, medians of rounds; thread pool: at most {baselines.Max(r => r.MaxThreads)} / {loads.Max(r => r.MaxThreads)} threads, at most {baselines.Max(r => r.MaxQueued)} / {loads.Max(r => r.MaxQueued)} queued work items |",
        ];
    }

    sealed record PhaseResult(double[] Unrelated, double UnrelatedRate, double[] Logins, double LoginRate, double MachineBusy, double MachineSteal, int MaxThreads, long MaxQueued)
    {
        public double UnrelatedP99 => Percentile(Unrelated, 0.99);

        public override string ToString() =>
            $"unrelated {UnrelatedRate:F0}/s p50 {Percentile(Unrelated, 0.5):F2} ms p95 {Percentile(Unrelated, 0.95):F2} ms p99 {UnrelatedP99:F2} ms max {Unrelated[^1]:F1} ms; " +
            (Logins.Length == 0 ? "" : $"logins {LoginRate:F1}/s p50 {Percentile(Logins, 0.5):F0} ms; ") +
            $"machine CPU {MachineBusy:P0} (steal {MachineSteal:P0}), threads ≤ {MaxThreads}, queued ≤ {MaxQueued}";
    }

    static async Task<PhaseResult> RunPhaseAsync(HttpClient unrelated, HttpClient? logins, string[] usernames, TimeSpan duration)
    {
        using var stop = new CancellationTokenSource();
        using var abortLogins = new CancellationTokenSource();
        var before = MachineCpu.Read();
        var sampler = SampleThreadPoolAsync(stop.Token);
        var clock = Stopwatch.StartNew();
        var loginTasks = logins is null ? [] : usernames.Select(u => Task.Run(() => LoginLoopAsync(logins, u, stop.Token, abortLogins.Token))).ToArray();
        var unrelatedTasks = Enumerable.Range(0, UnrelatedClients).Select(_ => Task.Run(() => RequestLoopAsync(unrelated, UnrelatedPath, HttpStatusCode.OK, stop.Token))).ToArray();
        stop.CancelAfter(duration);
        var unrelatedLatencies = (await Task.WhenAll(unrelatedTasks)).SelectMany(l => l).Order().ToArray();
        var seconds = clock.Elapsed.TotalSeconds;
        var (busy, steal) = MachineCpu.Since(before);
        var (maxThreads, maxQueued) = await sampler;

        // Logins still queued for hashing are abandoned: the server cancels them when their connections close.
        await abortLogins.CancelAsync();
        var loginLatencies = (await Task.WhenAll(loginTasks)).SelectMany(l => l).Order().ToArray();
        await Task.Delay(Settle);
        return new PhaseResult(unrelatedLatencies, unrelatedLatencies.Length / seconds, loginLatencies, loginLatencies.Length / seconds, busy, steal, maxThreads, maxQueued);
    }

    static async Task<(int MaxThreads, long MaxQueued)> SampleThreadPoolAsync(CancellationToken stop)
    {
        var maxThreads = 0;
        var maxQueued = 0L;
        while (!stop.IsCancellationRequested)
        {
            maxThreads = Math.Max(maxThreads, ThreadPool.ThreadCount);
            maxQueued = Math.Max(maxQueued, ThreadPool.PendingWorkItemCount);
            try
            {
                await Task.Delay(50, stop);
            }
            catch (OperationCanceledException)
            {
            }
        }
        return (maxThreads, maxQueued);
    }

    static async Task<(double Rate, List<double> Latencies)> ClosedLoopAsync(HttpClient client, string path, HttpStatusCode expected, TimeSpan duration)
    {
        using var stop = new CancellationTokenSource(duration);
        var clock = Stopwatch.StartNew();
        var latencies = (await Task.WhenAll(Enumerable.Range(0, UnrelatedClients).Select(_ => Task.Run(() => RequestLoopAsync(client, path, expected, stop.Token)))))
            .SelectMany(l => l).ToList();
        return (latencies.Count / clock.Elapsed.TotalSeconds, latencies);
    }

    static async Task<List<double>> RequestLoopAsync(HttpClient client, string path, HttpStatusCode expected, CancellationToken stop)
    {
        var latencies = new List<double>();
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync(path, CancellationToken.None);
            if (response.StatusCode != expected)
                throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}, not {(int)expected}.");
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return latencies;
    }

    static async Task<List<double>> LoginLoopAsync(HttpClient client, string username, CancellationToken stop, CancellationToken abort)
    {
        var latencies = new List<double>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.PostAsJsonAsync("/api/users/login", new { Username = username, Password = UserPassword }, abort);
                if (response.StatusCode != HttpStatusCode.OK)
                    throw new InvalidOperationException($"The login of {username} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(abort)}");
                if (!stop.IsCancellationRequested)
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
        }
        return latencies;
    }

    static async Task<string[]> CreateKeysAsync(IServiceProvider services, Principal admin)
    {
        var tokens = new string[KeyCount];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < KeyCount)
            {
                await using var scope = services.CreateAsyncScope();
                scope.ServiceProvider.GetRequiredService<OperationContext>().Principal = admin;
                var created = await scope.ServiceProvider.GetRequiredService<IMediator>()
                    .Send(new CreateApiKeyCommand($"Benchmark key {i}", [Permission.Read], null, null));
                tokens[i] = created.Token;
            }
        })));
        return tokens;
    }

    static async Task<string[]> CreateUsersAsync(HttpClient admin)
    {
        var run = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var usernames = Enumerable.Range(1, LoginClients).Select(i => $"bench-{run}-{i}").ToArray();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < usernames.Length)
            {
                using var response = await admin.PostAsJsonAsync("/api/users", new { Username = usernames[i], NewPassword = UserPassword, RoleIds = new[] { "role-user-readonly" } });
                await ReadAsync(response, HttpStatusCode.Created);
            }
        })));
        return usernames;
    }

    static async Task<string> CreateReadKeyAsync(HttpClient admin)
    {
        using var response = await admin.PostAsJsonAsync("/api/apikeys", new { Title = "Benchmark reader", AssignedPermissions = new[] { "Read" } });
        return (await ReadAsync(response, HttpStatusCode.Created)).GetProperty("Token").GetString()!;
    }

    static async Task<string> LoginAsync(HttpClient client, string username, string password)
    {
        using var response = await client.PostAsJsonAsync("/api/users/login", new { Username = username, Password = password });
        var body = await ReadAsync(response, HttpStatusCode.OK);
        client.DefaultRequestHeaders.Add(CsrfHeader, body.GetProperty("CsrfToken").GetString());
        return body.GetProperty("Id").GetString()!;
    }

    static async Task<JsonElement> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}, not {(int)expected}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    static HttpClient NewClient(Uri address, int connections, string? apiKey = null, CookieContainer? cookies = null)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            UseCookies = cookies is not null,
        };
        if (cookies is not null)
            handler.CookieContainer = cookies;
        var client = new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromMinutes(5) };
        if (apiKey is not null)
            client.DefaultRequestHeaders.Add(ApiKeyHeader, apiKey);
        return client;
    }

    static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    static double Median(IEnumerable<double> values) => Percentile([.. values.Order()], 0.5);

    static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, Math.Round(p * (sorted.Length - 1)))];

    /// <summary>Whole-machine CPU from <c>/proc/stat</c>, so that PostgreSQL and the host's other tenants show too.</summary>
    static class MachineCpu
    {
        public static long[]? Read()
        {
            if (!File.Exists("/proc/stat"))
                return null;
            return [.. File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture))];
        }

        /// <summary>The share of the machine that was busy, and the share stolen by the hypervisor, since <paramref name="before"/>.</summary>
        public static (double Busy, double Steal) Since(long[]? before)
        {
            var after = Read();
            if (before is null || after is null)
                return (double.NaN, double.NaN);
            var delta = after.Zip(before, (a, b) => a - b).ToArray();
            double total = delta.Sum();
            if (total <= 0)
                return (double.NaN, double.NaN);
            // user, nice, system, idle, iowait, irq, softirq, steal
            return ((delta[0] + delta[1] + delta[2] + delta[5] + delta[6]) / total, delta[7] / total);
        }
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Api.Hosting;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;
using Serilog;

namespace Seq.Tests.Users;

public sealed partial class FirstRunTests
{
    [GeneratedRegex(@"^\s+(\S{24})\s*$", RegexOptions.Multiline)]
    private static partial Regex PrintedPassword();

    [Fact]
    public async Task Without_a_configured_password_one_is_generated_printed_once_to_the_console_never_logged_and_must_be_changed()
    {
        // A blank username is the default one.
        await using var server = await TestServer.StartAsync(o => o with { FirstRun = new FirstRunOptions(AdminUsername: "  ") }, loginAsAdmin: false);

        var match = PrintedPassword().Match(server.Console.ToString());
        match.Success.ShouldBeTrue(server.Console.ToString());
        var password = match.Groups[1].Value;
        server.Log.Text.ShouldNotContain(password);
        server.Console.ToString().ReplaceLineEndings("\n").ShouldBe($"""

            ************************************************************************
              First start: creating the administrator 'admin' with the password

                  {password}

              It is shown only this once and must be changed at the first login.
            ************************************************************************

            First start complete: the password above is now the password of the administrator 'admin'.


            """);

        var client = server.CreateClient();
        using var refused = await client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = password });
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("must be changed");

        using var changed = await client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = password, NewPassword = "a-chosen-password" });
        changed.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_password_hash_from_config_hash_becomes_the_administrators_password()
    {
        var hash = new PasswordHasher().Hash("hashed-admin-password");
        await using var server = await TestServer.StartAsync(o => o with { FirstRun = new FirstRunOptions(AdminPasswordHash: hash) }, loginAsAdmin: false);

        server.Console.ToString().ShouldBeEmpty();
        var admin = await server.LoginAsync("admin", "hashed-admin-password");
        (await admin.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_configured_administrator_name_and_password_are_the_administrators_and_nothing_is_printed()
    {
        await using var server = await TestServer.StartAsync(
            o => o with { FirstRun = new FirstRunOptions(AdminUsername: "chief", AdminPassword: "a-configured-password") }, loginAsAdmin: false);

        server.Console.ToString().ShouldBeEmpty();
        var chief = await server.LoginAsync("chief", "a-configured-password");
        (await chief.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_configured_value_that_is_not_a_password_hash_stops_the_first_start()
    {
        var failure = await Should.ThrowAsync<FirstRunException>(() =>
            TestServer.StartAsync(o => o with { FirstRun = new FirstRunOptions(AdminPasswordHash: "pbkdf2-but-not-really") }, loginAsAdmin: false));

        failure.Message.ShouldBe("SEQ_FIRSTRUN_ADMINPASSWORDHASH is not a password hash from `seqsvr config hash`.");
    }

    [Fact]
    public void The_first_run_options_show_which_secrets_are_set_but_not_what_they_are()
    {
        new FirstRunOptions("root", "a-password", "a-hash", NoAuthentication: false) { IngestApiKey = "a-token" }.ToString().ShouldBe(
            "FirstRunOptions { AdminUsername = root, AdminPassword = (secret), AdminPasswordHash = (set), NoAuthentication = False, IngestApiKey = (secret) }");
        new FirstRunOptions().ToString().ShouldBe(
            "FirstRunOptions { AdminUsername = admin, AdminPassword = none, AdminPasswordHash = none, NoAuthentication = False, IngestApiKey = none }");
    }

    [Fact]
    public async Task Authentication_is_on_by_default_so_an_anonymous_caller_reaches_only_public_endpoints()
    {
        await using var server = await TestServer.StartAsync(loginAsAdmin: false);
        var anonymous = server.CreateClient();

        (await anonymous.GetAsync("/api")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await anonymous.GetAsync("/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await anonymous.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await anonymous.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "x" })).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_instance_first_started_without_authentication_serves_anyone_and_warns()
    {
        await using var server = await TestServer.StartAsync(o => o with { FirstRun = new FirstRunOptions(NoAuthentication: true) }, loginAsAdmin: false);
        var anonymous = server.CreateClient();

        (await anonymous.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "open" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        server.Log.Text.ShouldContain("Authentication is disabled: anyone who can reach this server can read and change everything. " +
                                      "It was turned off at first start with SEQ_FIRSTRUN_NOAUTHENTICATION");
    }

    [Fact]
    public async Task A_restart_with_the_same_key_keeps_the_first_starts_choice_and_warns_again()
    {
        var key = SecretKey.Generate();
        var connectionString = await TestPostgres.CreateDatabaseAsync("firstrun");
        for (var start = 0; start < 2; start++)
        {
            var log = new CapturedLog();
            var logger = new LoggerConfiguration().WriteTo.Sink(log).CreateLogger();
            var options = new ServerOptions(connectionString, ["http://127.0.0.1:0"], key)
            {
                FirstRun = new FirstRunOptions(NoAuthentication: start == 0),
                Console = new StringWriter(),
            };
            await using var app = SeqServer.Build(options, logger);
            await SeqServer.StartAsync(app, CancellationToken.None);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = new HttpClient { BaseAddress = new Uri(address) };

            (await client.GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
            log.Text.ShouldContain("Authentication is disabled");
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task A_first_start_that_fails_storing_its_configuration_stores_no_administrator_and_the_next_start_shows_a_working_password()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("firstrun");
        await using (var dataSource = Seq.Infrastructure.DependencyInjection.CreateDataSource(connectionString))
        {
            await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);
            await ExecuteAsync(dataSource, """
                CREATE FUNCTION fail_first_run() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'injected fault in the append of the first-run configuration'; END $$;
                CREATE TRIGGER fail_first_run BEFORE INSERT ON streams FOR EACH ROW
                WHEN (NEW.stream_id = 'authentication/instance') EXECUTE FUNCTION fail_first_run();
                """);
        }
        var key = SecretKey.Generate();

        var failedConsole = new StringWriter();
        var failure = await Should.ThrowAsync<Npgsql.PostgresException>(() => StartNodeAsync(connectionString, key, failedConsole));
        failure.MessageText.ShouldContain("injected fault");
        await using (var dataSource = Seq.Infrastructure.DependencyInjection.CreateDataSource(connectionString))
        {
            (await ScalarAsync<long>(dataSource, "SELECT count(*) FROM streams")).ShouldBe(0);
            (await ScalarAsync<long>(dataSource, "SELECT count(*) FROM events")).ShouldBe(0);
            (await ScalarAsync<long>(dataSource, "SELECT count(*) FROM users")).ShouldBe(0);
            await ExecuteAsync(dataSource, "DROP TRIGGER fail_first_run ON streams");
        }
        failedConsole.ToString().ShouldContain("The first start did not complete, so the password above may not have been stored. If the next start " +
                                               "prints a new password, use that one; if it prints none, the password above is valid.");
        var voidPassword = PrintedPassword().Match(failedConsole.ToString()).Groups[1].Value;

        var console = new StringWriter();
        await using var app = await StartNodeAsync(connectionString, key, console);
        var match = PrintedPassword().Match(console.ToString());
        match.Success.ShouldBeTrue(console.ToString());
        console.ToString().ShouldContain("First start complete");
        var password = match.Groups[1].Value;
        password.ShouldNotBe(voidPassword);

        using var client = new HttpClient { BaseAddress = AddressOf(app) };
        using (var stale = await client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = voidPassword }))
            stale.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var changed = await client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = password, NewPassword = "a-chosen-password" });
        changed.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Nodes_starting_together_on_a_new_database_store_one_administrator_and_exactly_one_confirms_the_password_it_showed()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("firstrun");
        var key = SecretKey.Generate();
        var consoles = Enumerable.Range(0, 3).Select(_ => new StringWriter()).ToArray();

        var apps = await Task.WhenAll(consoles.Select(console => Task.Run(() => StartNodeAsync(connectionString, key, console))));
        try
        {
            var confirmed = consoles.Where(c => c.ToString().Contains("First start complete")).ShouldHaveSingleItem().ToString();
            var password = PrintedPassword().Match(confirmed).Groups[1].Value;
            foreach (var other in consoles.Select(c => c.ToString()).Where(c => c != confirmed))
                (other.Length == 0 || other.Contains("NOT stored")).ShouldBeTrue(other);

            using var client = new HttpClient { BaseAddress = AddressOf(apps[0]) };
            using var changed = await client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = password, NewPassword = "a-chosen-password" });
            changed.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        finally
        {
            foreach (var app in apps)
                await app.DisposeAsync();
        }
    }

    static async Task<WebApplication> StartNodeAsync(string connectionString, SecretKey key, StringWriter console)
    {
        var options = new ServerOptions(connectionString, ["http://127.0.0.1:0"], key) { FirstRun = new FirstRunOptions(), Console = console };
        var app = SeqServer.Build(options, new LoggerConfiguration().WriteTo.Sink(new CapturedLog()).CreateLogger());
        try
        {
            await SeqServer.StartAsync(app, CancellationToken.None);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    static Uri AddressOf(WebApplication app) => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    static async Task ExecuteAsync(Npgsql.NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    static async Task<T> ScalarAsync<T>(Npgsql.NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_configured_administrator_password_that_is_too_short_stops_the_first_start()
    {
        var failure = await Should.ThrowAsync<FirstRunException>(() =>
            TestServer.StartAsync(o => o with { FirstRun = new FirstRunOptions(AdminPassword: "short") }, loginAsAdmin: false));
        failure.Message.ShouldContain("SEQ_FIRSTRUN_ADMINPASSWORD");
        failure.Message.ShouldNotContain("short");
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Seq.Api.Hosting;
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
        await using var server = await TestServer.StartAsync(o => o with { FirstRun = new FirstRunOptions() }, loginAsAdmin: false);

        var match = PrintedPassword().Match(server.Console.ToString());
        match.Success.ShouldBeTrue(server.Console.ToString());
        var password = match.Groups[1].Value;
        server.Log.Text.ShouldNotContain(password);

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
        server.Log.Text.ShouldContain("Authentication is disabled");
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
    public async Task A_configured_administrator_password_that_is_too_short_stops_the_first_start()
    {
        var failure = await Should.ThrowAsync<FirstRunException>(() =>
            TestServer.StartAsync(o => o with { FirstRun = new FirstRunOptions(AdminPassword: "short") }, loginAsAdmin: false));
        failure.Message.ShouldContain("SEQ_FIRSTRUN_ADMINPASSWORD");
        failure.Message.ShouldNotContain("short");
    }
}

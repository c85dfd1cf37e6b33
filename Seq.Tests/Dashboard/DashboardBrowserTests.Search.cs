using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Npgsql;
using Seq.Tests.Events;
using Seq.Tests.Support;

namespace Seq.Tests.Dashboard;

/// <summary>
/// The signals, events and backups screens, on the class's shared server and browser: filters checked by the server
/// with the error shown at its position, the search with signal toggles and paging, backups made and downloaded, what
/// each user's permissions allow, and a server restart that leads back to sign-in and then to the same search.
/// </summary>
public sealed partial class DashboardBrowserTests
{
    [GeneratedRegex(@"at position (\d+)")]
    private static partial Regex Position();

    /// <summary>Events of one test run (property <c>Run</c>), <paramref name="count"/> of them a second apart, oldest first.</summary>
    static async Task IngestAsync(TestServer server, string run, int count, Func<int, string>? level = null, string? extra = null)
    {
        var key = await EventServerFixture.CreateKeyAsync(server.Client, "ingest " + run, ["Ingest"]);
        var at = DateTimeOffset.UtcNow.AddMinutes(-10);
        var lines = Enumerable.Range(0, count).Select(i =>
            $$"""{"@t":"{{at.AddSeconds(i):O}}","@l":"{{level?.Invoke(i) ?? "Information"}}","@mt":"Step {N} of {Run}","Run":"{{run}}","N":{{i}}{{extra}}}""");
        using var client = server.ApiKeyClient(key);
        using var content = new StringContent(string.Join("\n", lines), Encoding.UTF8, "application/vnd.serilog.clef");
        using var response = await client.PostAsync("/api/events/raw", content);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    static async Task<string> CreateSignalAsync(HttpClient client, string title, string filter, string? ownerId = null)
    {
        using var response = await client.PostAsJsonAsync("/api/signals", new
        {
            Title = title, OwnerId = ownerId, Filters = new[] { new { Filter = filter, FilterNonStrict = filter } },
        });
        return (await TestServer.ReadAsync(response, HttpStatusCode.Created)).GetProperty("Id").GetString()!;
    }

    static ILocator Button(ILocator scope, string name) => scope.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });

    [Fact]
    public async Task A_signal_is_created_and_edited_with_the_servers_filter_error_shown_at_its_filter_and_position()
    {
        await using var admin = await WatchedPage.OpenAsync(fixture);
        await admin.SignInAsync("admin", TestServer.AdminPassword, "signals");
        var page = admin.Page;
        await Button(MainOf(page), "Add signal").ClickAsync();
        var form = page.GetByRole(AriaRole.Form, new() { Name = "New signal" });
        await form.GetByLabel("Title").FillAsync("Checkout failures");
        await form.GetByLabel("Filter 1", new() { Exact = true }).FillAsync("@Level = 'Error'");
        await Button(form, "Add filter").ClickAsync();
        const string broken = "Area = 'checkout' and (";
        await form.GetByLabel("Filter 2", new() { Exact = true }).FillAsync(broken);
        await Button(form, "Create signal").ClickAsync();

        // The server refused it; its message names filter 2 and a position, and the page marks that character there.
        var error = form.GetByTestId("filter-error-2");
        await error.WaitForAsync();
        var message = await error.GetByRole(AriaRole.Alert).TextContentAsync();
        var position = int.Parse(Position().Match(message!).Groups[1].Value);
        (await error.GetAttributeAsync("data-position")).ShouldBe(position.ToString());
        var marked = position < broken.Length ? broken[position].ToString() : " ";
        (await error.Locator("mark").TextContentAsync()).ShouldBe(marked);
        (await form.GetByTestId("filter-error-1").CountAsync()).ShouldBe(0);
        (await form.GetByLabel("Title").InputValueAsync()).ShouldBe("Checkout failures");
        await admin.ScreenshotAsync("signals-filter-error");
        (await Server.GetJsonAsync("/api/signals?shared=true")).EnumerateArray()
            .ShouldNotContain(s => s.GetProperty("Title").GetString() == "Checkout failures");

        await form.GetByLabel("Filter 2", new() { Exact = true }).FillAsync("Area = 'checkout'");
        await Button(form, "Create signal").ClickAsync();
        var row = page.Locator("tr[data-signal]", new() { HasText = "Checkout failures" });
        await row.WaitForAsync();
        var created = (await Server.GetJsonAsync("/api/signals?shared=true")).EnumerateArray()
            .Single(s => s.GetProperty("Title").GetString() == "Checkout failures");
        created.GetProperty("OwnerId").ValueKind.ShouldBe(JsonValueKind.Null);
        created.GetProperty("Filters").EnumerateArray().Select(f => f.GetProperty("Filter").GetString())
            .ShouldBe(["@Level = 'Error'", "Area = 'checkout'"]);

        await Button(row, "Edit").ClickAsync();
        var edit = page.GetByRole(AriaRole.Form, new() { Name = "Edit Checkout failures" });
        await edit.GetByLabel("Title").FillAsync("Checkout failures (all areas)");
        await Button(edit, "Remove filter 2").ClickAsync();
        await Button(edit, "Save").ClickAsync();
        await page.GetByText("Saved Checkout failures (all areas).").WaitForAsync();
        var saved = await Server.GetJsonAsync("/api/signals/" + created.GetProperty("Id").GetString());
        saved.GetProperty("Title").GetString().ShouldBe("Checkout failures (all areas)");
        saved.GetProperty("Filters").GetArrayLength().ShouldBe(1);
        await admin.ScreenshotAsync("signals");
        (await admin.ViolationsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_read_only_user_keeps_personal_signals_sees_no_backups_and_the_server_refuses_the_rest()
    {
        var sharedId = await CreateSignalAsync(Server.Client, "Team errors", "@Level = 'Error'");
        var watcherId = await Server.CreateUserAsync("watcher", "watcher-password-1", "role-user-readonly");
        await using var watcher = await WatchedPage.OpenAsync(fixture);
        await watcher.SignInAsync("watcher", "watcher-password-1", "signals");
        var page = watcher.Page;

        var nav = page.GetByRole(AriaRole.Navigation);
        await nav.GetByRole(AriaRole.Link, new() { Name = "Signals" }).WaitForAsync();
        (await nav.GetByRole(AriaRole.Link, new() { Name = "Events" }).CountAsync()).ShouldBe(1);
        (await nav.GetByRole(AriaRole.Link, new() { Name = "Backups" }).CountAsync()).ShouldBe(0);
        var shared = page.Locator($"tr[data-signal={sharedId}]");
        await shared.WaitForAsync();
        (await shared.GetByRole(AriaRole.Button).CountAsync()).ShouldBe(0);

        await Button(MainOf(page), "Add signal").ClickAsync();
        var form = page.GetByRole(AriaRole.Form, new() { Name = "New signal" });
        (await form.GetByLabel("Shared with everyone").IsDisabledAsync()).ShouldBeTrue();
        (await form.GetByLabel("Personal (only you)").IsCheckedAsync()).ShouldBeTrue();
        (await form.GetByLabel("Protected").IsDisabledAsync()).ShouldBeTrue();
        await form.GetByLabel("Title").FillAsync("My slow requests");
        await form.GetByLabel("Filter 1", new() { Exact = true }).FillAsync("Elapsed > 1000");
        await Button(form, "Create signal").ClickAsync();
        var mine = page.Locator("tr[data-signal]", new() { HasText = "My slow requests" });
        await mine.WaitForAsync();
        (await mine.InnerTextAsync()).ShouldContain("Mine");
        var watcherClient = await Server.LoginAsync("watcher", "watcher-password-1");
        var personal = (await TestServer.ReadAsync(await watcherClient.GetAsync("/api/signals"), HttpStatusCode.OK)).EnumerateArray()
            .Single(s => s.GetProperty("Title").GetString() == "My slow requests");
        personal.GetProperty("OwnerId").GetString().ShouldBe(watcherId);

        // The server refuses what the page does not offer: changing the shared signal, and the backups.
        using (var put = await watcherClient.PutAsJsonAsync("/api/signals/" + sharedId, new { Title = "Taken over", Filters = Array.Empty<object>() }))
            put.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await Server.GetJsonAsync("/api/signals/" + sharedId)).GetProperty("Title").GetString().ShouldBe("Team errors");
        await page.GotoAsync("/#/backups");
        await MainOf(page).GetByText("Your roles do not allow this screen.").WaitForAsync();
        (await page.EvaluateAsync<int>("async () => (await fetch('/api/backups')).status")).ShouldBe(403);
        (await watcher.ViolationsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task The_event_search_shows_newest_first_filters_toggles_a_signal_expands_an_event_and_loads_more()
    {
        var run = "run" + Guid.NewGuid().ToString("N")[..8];
        await IngestAsync(Server, run, 35, level: i => i % 5 == 0 ? "Error" : "Information");
        var errors = await CreateSignalAsync(Server.Client, "Errors " + run, "@Level = 'Error'");

        await using var admin = await WatchedPage.OpenAsync(fixture);
        await admin.SignInAsync("admin", TestServer.AdminPassword, "events");
        var page = admin.Page;
        var events = page.Locator("li.event");
        await page.GetByLabel("Filter", new() { Exact = true }).FillAsync($"Run = '{run}'");
        await Button(MainOf(page), "Search").ClickAsync();
        await Assertions.Expect(events).ToHaveCountAsync(30);
        (await events.First.Locator(".message").TextContentAsync()).ShouldStartWith("Step 34 of ");
        (await events.Nth(29).Locator(".message").TextContentAsync()).ShouldStartWith("Step 5 of ");

        // The next page follows the last event shown (afterId), and the end is said.
        await Button(MainOf(page), "Load more").ClickAsync();
        await Assertions.Expect(events).ToHaveCountAsync(35);
        (await events.Last.Locator(".message").TextContentAsync()).ShouldStartWith("Step 0 of ");
        await page.GetByTestId("end-of-events").WaitForAsync();

        // A signal toggled on narrows the search to its filter as well.
        var toggle = page.Locator($"button.toggle[data-signal={errors}]");
        await toggle.ClickAsync();
        (await toggle.GetAttributeAsync("aria-pressed")).ShouldBe("true");
        await Assertions.Expect(events).ToHaveCountAsync(7);
        (await events.Locator(".level").AllTextContentsAsync()).ShouldAllBe(l => l == "Error");

        await events.First.Locator("button.event-summary").ClickAsync();
        var properties = events.First.GetByRole(AriaRole.Table, new() { Name = "Properties" });
        (await properties.Locator("tr[data-property=Run] td").TextContentAsync()).ShouldBe(run);
        (await properties.Locator("tr[data-property=N] td").TextContentAsync()).ShouldBe("30");
        (await events.First.Locator("button.event-summary").GetAttributeAsync("aria-expanded")).ShouldBe("true");
        await admin.ScreenshotAsync("events");

        // A filter the server cannot parse: its message, with the position marked under the box.
        await toggle.ClickAsync();
        await page.GetByLabel("Filter", new() { Exact = true }).FillAsync($"Run = '{run}' and");
        await Button(MainOf(page), "Search").ClickAsync();
        var error = page.GetByTestId("filter-error");
        await error.WaitForAsync();
        (await error.GetByRole(AriaRole.Alert).TextContentAsync())!.ShouldContain("position");
        (await error.Locator("mark").CountAsync()).ShouldBe(1);
        await admin.ScreenshotAsync("events-filter-error");
        (await admin.ViolationsAsync()).ShouldBeEmpty();
        admin.PageErrors.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_signal_title_and_an_event_property_holding_script_are_shown_as_text()
    {
        var run = "xss" + Guid.NewGuid().ToString("N")[..8];
        await IngestAsync(Server, run, 1, extra: $",\"Note\":{JsonSerializer.Serialize(Payload)}");
        var signal = await CreateSignalAsync(Server.Client, Payload, $"Run = '{run}'");

        await using var admin = await WatchedPage.OpenAsync(fixture);
        await admin.SignInAsync("admin", TestServer.AdminPassword, "signals");
        var page = admin.Page;
        (await page.Locator($"tr[data-signal={signal}] .signal-title").TextContentAsync()).ShouldBe(Payload);

        await page.GotoAsync("/#/events");
        var toggle = page.Locator($"button.toggle[data-signal={signal}]");
        (await toggle.TextContentAsync()).ShouldBe(Payload);
        await toggle.ClickAsync();
        var events = page.Locator("li.event");
        await Assertions.Expect(events).ToHaveCountAsync(1);
        await events.First.Locator("button.event-summary").ClickAsync();
        (await events.First.Locator("tr[data-property=Note] td").TextContentAsync()).ShouldBe(Payload);
        await admin.ScreenshotAsync("script-injection-events");

        (await MainOf(page).Locator("img, script").CountAsync()).ShouldBe(0);
        admin.Dialogs.ShouldBeEmpty();
        admin.PageErrors.ShouldBeEmpty();
        (await admin.ViolationsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_backup_made_from_the_dashboard_is_listed_and_downloads_as_the_encrypted_file()
    {
        await using var admin = await WatchedPage.OpenAsync(fixture);
        await admin.SignInAsync("admin", TestServer.AdminPassword, "backups");
        var page = admin.Page;
        var rows = page.Locator("tr[data-backup]");
        var before = (await Server.GetJsonAsync("/api/backups")).GetArrayLength();
        await Button(MainOf(page), "Back up now").ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(before + 1, new() { Timeout = 30_000 });
        var listed = (await Server.GetJsonAsync("/api/backups")).EnumerateArray().OrderByDescending(b => b.GetProperty("CreatedAt").GetString()).First();
        var row = page.Locator($"tr[data-backup={listed.GetProperty("Id").GetString()}]");
        (await row.InnerTextAsync()).ShouldContain(listed.GetProperty("Filename").GetString()!);
        await admin.ScreenshotAsync("backups");

        var download = await page.RunAndWaitForDownloadAsync(() => row.GetByRole(AriaRole.Link, new() { Name = "Download" }).ClickAsync());
        download.SuggestedFilename.ShouldBe(listed.GetProperty("Filename").GetString());
        var saved = Path.Combine(TestDirectories.Root, "dashboard-" + Guid.NewGuid().ToString("N") + ".seqbac");
        await download.SaveAsAsync(saved);
        var bytes = await File.ReadAllBytesAsync(saved);
        File.Delete(saved);
        bytes.Length.ShouldBe(listed.GetProperty("FileSizeBytes").GetInt32());
        Encoding.ASCII.GetString(bytes, 0, 8).ShouldBe("SEQBAC\r\n");
        (await admin.ViolationsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_restarted_server_keeps_the_session_and_one_that_lost_it_leads_to_sign_in_and_back_to_the_same_search()
    {
        TestServer? server = await TestServer.StartAsync();
        var address = server.Address;
        var key = server.Options.SecretKey;
        var connectionString = server.ConnectionString;
        Task<TestServer> Restart() =>
            TestServer.StartAsync(o => o with { ListenUris = [address.ToString().TrimEnd('/')], SecretKey = key }, loginAsAdmin: false, connectionString: connectionString);
        try
        {
            var run = "restart" + Guid.NewGuid().ToString("N")[..8];
            await IngestAsync(server, run, 3);
            var context = await fixture.Browser.NewContextAsync(new() { BaseURL = address.ToString(), ViewportSize = new() { Width = 1280, Height = 800 } });
            await using var _ = context;
            var page = await context.NewPageAsync();
            await page.GotoAsync("/#/events");
            await page.GetByLabel("Username").FillAsync("admin");
            await page.GetByLabel("Password", new() { Exact = true }).FillAsync(TestServer.AdminPassword);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
            var filter = page.GetByLabel("Filter", new() { Exact = true });
            await filter.FillAsync($"Run = '{run}'");
            await Button(MainOf(page), "Search").ClickAsync();
            var events = page.Locator("li.event");
            await Assertions.Expect(events).ToHaveCountAsync(3);

            // While the server is down the page says so (it is not left blank); restarted, the session carries on.
            await server.DisposeAsync();
            server = null;
            await Button(MainOf(page), "Search").ClickAsync();
            await MainOf(page).GetByText("The server could not be reached.").WaitForAsync();
            server = await Restart();
            await Button(MainOf(page), "Search").ClickAsync();
            await Assertions.Expect(events).ToHaveCountAsync(3);
            (await page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" }).CountAsync()).ShouldBe(0);

            // Restarted without its sessions (a restore from backup has none): sign-in, then the same search again.
            await server.DisposeAsync();
            server = null;
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var delete = new NpgsqlCommand("DELETE FROM user_sessions", connection);
                (await delete.ExecuteNonQueryAsync()).ShouldBeGreaterThan(0);
            }
            server = await Restart();
            await Button(MainOf(page), "Search").ClickAsync();
            await page.GetByText("Your session has ended").WaitForAsync();
            page.Url.ShouldEndWith("#/events");
            await page.GetByLabel("Username").FillAsync("admin");
            await page.GetByLabel("Password", new() { Exact = true }).FillAsync(TestServer.AdminPassword);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
            await page.GetByRole(AriaRole.Heading, new() { Name = "Events" }).WaitForAsync();
            (await filter.InputValueAsync()).ShouldBe($"Run = '{run}'");
            await Assertions.Expect(events).ToHaveCountAsync(3);
        }
        finally
        {
            if (server is not null)
                await server.DisposeAsync();
        }
    }
}

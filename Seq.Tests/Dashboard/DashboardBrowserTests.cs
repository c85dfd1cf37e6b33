using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Dashboard;

/// <summary>
/// The dashboard in a real headless Chromium against a real server: it talks only to the public API, shows only what
/// the user's roles allow, renders data as text under the server's Content-Security-Policy, and leads a lost session
/// back to sign-in. Each test saves screenshots of the screens it visits under docs/screenshots.
/// </summary>
public sealed partial class DashboardBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    const string Payload = "<img src=x onerror=alert(1)><script>alert(2)</script>";

    [GeneratedRegex(@"^\s+(\S{24})\s*$", RegexOptions.Multiline)]
    private static partial Regex PrintedPassword();

    TestServer Server => fixture.Server;

    static ILocator MainOf(IPage page) => page.Locator("main");

    [Fact]
    public async Task The_first_login_asks_for_a_new_password_and_then_shows_the_dashboard()
    {
        await using var server = await TestServer.StartAsync(o => o with { FirstRun = new FirstRunOptions() }, loginAsAdmin: false);
        var generated = PrintedPassword().Match(server.Console.ToString()).Groups[1].Value;
        generated.ShouldNotBeEmpty(server.Console.ToString());
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.Address.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        await using var _ = context;
        var page = await context.NewPageAsync();

        await page.GotoAsync("/");
        await page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" }).WaitForAsync();
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("sign-in") });
        await page.GetByLabel("Username").FillAsync("admin");
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(generated);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();

        await page.GetByLabel("New password", new() { Exact = true }).FillAsync("a-new-admin-password-1");
        await page.GetByLabel("Confirm new password").FillAsync("a-new-admin-password-1");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("first-sign-in-password-change") });
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password and sign in" }).ClickAsync();

        await page.GetByRole(AriaRole.Heading, new() { Name = "Overview" }).WaitForAsync();
        (await page.GetByTestId("signed-in-as").TextContentAsync()).ShouldBe("admin");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("overview") });
        // The change was made on the server: the generated password no longer works, the new one does.
        var client = server.CreateClient();
        using var old = await client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = generated });
        old.StatusCode.ShouldNotBe(HttpStatusCode.OK);
        using var fresh = await client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = "a-new-admin-password-1" });
        fresh.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_administrator_creates_a_user_who_then_sees_only_what_their_roles_allow()
    {
        await using (var admin = await WatchedPage.OpenAsync(fixture))
        {
            await admin.SignInAsync("admin", TestServer.AdminPassword, "users");
            var page = admin.Page;
            await page.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
            var form = page.GetByRole(AriaRole.Form, new() { Name = "New user" });
            await form.GetByLabel("Username").FillAsync("reader");
            await form.GetByLabel("Display name").FillAsync("Rita Reader");
            await form.GetByLabel("Password", new() { Exact = true }).FillAsync("reader-password-1");
            await form.GetByLabel("Must change the password").UncheckAsync();
            await form.GetByLabel("User (read/write)").UncheckAsync();
            await form.GetByLabel("User (read-only)").CheckAsync();
            await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("users-new") });
            await form.GetByRole(AriaRole.Button, new() { Name = "Create user" }).ClickAsync();
            await page.Locator("tr[data-user=reader]").WaitForAsync();
            await admin.ScreenshotAsync("users");
        }

        await using var reader = await WatchedPage.OpenAsync(fixture);
        await reader.SignInAsync("reader", "reader-password-1");
        var nav = reader.Page.GetByRole(AriaRole.Navigation);
        (await nav.InnerTextAsync()).ShouldContain("Settings");
        (await nav.GetByRole(AriaRole.Link, new() { Name = "Users" }).CountAsync()).ShouldBe(0);
        (await nav.GetByRole(AriaRole.Link, new() { Name = "API keys" }).CountAsync()).ShouldBe(0);
        await reader.Page.GotoAsync("/#/users");
        await MainOf(reader.Page).GetByText("Your roles do not allow this screen.").WaitForAsync();
        // The server refuses anyway: the page's own request for the users, with its session, is forbidden.
        (await reader.Page.EvaluateAsync<int>("async () => (await fetch('/api/users')).status")).ShouldBe(403);
        await reader.Page.GotoAsync("/#/settings");
        await reader.Page.Locator("form[data-setting=InstanceTitle]").WaitForAsync();
        (await reader.Page.GetByRole(AriaRole.Button, new() { Name = "Save" }).CountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task An_API_key_token_is_shown_once_and_works_from_outside_the_browser()
    {
        await using var admin = await WatchedPage.OpenAsync(fixture);
        await admin.SignInAsync("admin", TestServer.AdminPassword, "apikeys");
        var page = admin.Page;
        await page.GetByRole(AriaRole.Button, new() { Name = "Add API key" }).ClickAsync();
        var form = page.GetByRole(AriaRole.Form, new() { Name = "New API key" });
        await form.GetByLabel("Title").FillAsync("Build server");
        await form.GetByLabel("Ingest").UncheckAsync();
        await form.GetByLabel("Read", new() { Exact = true }).CheckAsync();
        await form.GetByRole(AriaRole.Button, new() { Name = "Create API key" }).ClickAsync();

        var token = await page.GetByTestId("new-token").InputValueAsync();
        token.Length.ShouldBeGreaterThanOrEqualTo(20);
        await page.GetByText("It is shown only once").WaitForAsync();
        await admin.ScreenshotAsync("api-keys-token-shown-once");
        using (var response = await Server.ApiKeyClient(token).GetAsync("/api/settings"))
            response.StatusCode.ShouldBe(HttpStatusCode.OK);

        await page.GetByRole(AriaRole.Button, new() { Name = "I have copied it" }).ClickAsync();
        await page.Locator("td.key-title", new() { HasText = "Build server" }).WaitForAsync();
        (await page.ContentAsync()).ShouldNotContain(token);
        (await admin.StoredAsync()).ShouldNotContain(token);
        await admin.ScreenshotAsync("api-keys");
        await page.ReloadAsync();
        await admin.SignInAsync("admin", TestServer.AdminPassword, "apikeys");
        await page.Locator("td.key-title", new() { HasText = "Build server" }).WaitForAsync();
        (await page.ContentAsync()).ShouldNotContain(token);
    }

    [Fact]
    public async Task Changing_the_instance_title_shows_it_in_the_header()
    {
        await using var admin = await WatchedPage.OpenAsync(fixture);
        await admin.SignInAsync("admin", TestServer.AdminPassword, "settings");
        var setting = admin.Page.Locator("form[data-setting=InstanceTitle]");
        await setting.GetByRole(AriaRole.Textbox).FillAsync("Production audit");
        await setting.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();

        await Assertions.Expect(admin.Page.GetByTestId("instance-title")).ToHaveTextAsync("Production audit");
        (await Server.GetJsonAsync("/api")).GetProperty("InstanceName").GetString().ShouldBe("Production audit");
        await admin.ScreenshotAsync("settings");

        await admin.Page.GotoAsync("/#/diagnostics");
        await admin.Page.GetByTestId("health").GetByText("Available").First.WaitForAsync();
        await admin.Page.GetByTestId("report").WaitForAsync();
        await admin.ScreenshotAsync("diagnostics");
        (await admin.ViolationsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task Script_injection_payloads_are_shown_as_text_with_no_policy_violation_and_no_dialog()
    {
        using (var created = await Server.Client.PostAsJsonAsync("/api/users",
                   new { Username = "mallory", DisplayName = Payload, NewPassword = "mallory-password-1", RoleIds = new[] { "role-user-readonly" } }))
            created.StatusCode.ShouldBe(HttpStatusCode.Created);
        using (var created = await Server.Client.PostAsJsonAsync("/api/apikeys", new { Title = Payload, AssignedPermissions = new[] { "Ingest" } }))
            created.StatusCode.ShouldBe(HttpStatusCode.Created);

        await using var admin = await WatchedPage.OpenAsync(fixture);
        await admin.SignInAsync("admin", TestServer.AdminPassword, "users");
        var name = admin.Page.Locator("tr[data-user=mallory] td.display-name");
        (await name.TextContentAsync()).ShouldBe(Payload);
        await admin.Page.GotoAsync("/#/apikeys");
        await admin.Page.Locator("td.key-title", new() { HasText = "<script>" }).WaitForAsync();
        (await admin.Page.Locator("td.key-title", new() { HasText = "<script>" }).TextContentAsync()).ShouldBe(Payload);
        await admin.ScreenshotAsync("script-injection-as-text");

        (await MainOf(admin.Page).Locator("img, script").CountAsync()).ShouldBe(0);
        admin.Dialogs.ShouldBeEmpty();
        admin.PageErrors.ShouldBeEmpty();
        (await admin.ViolationsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_session_that_ends_leads_back_to_sign_in_and_then_to_the_same_screen()
    {
        await Server.CreateUserAsync("stale", "stale-password-1", "role-administrator");
        await using var browser = await WatchedPage.OpenAsync(fixture);
        await browser.SignInAsync("stale", "stale-password-1", "users");
        await browser.Page.Locator("tr[data-user=stale]").WaitForAsync();

        // Elsewhere, the same user changes their password: every other session of theirs ends.
        var elsewhere = await Server.LoginAsync("stale", "stale-password-1");
        using (var changed = await elsewhere.PutAsJsonAsync("/api/users/current/password", new { Password = "stale-password-1", NewPassword = "stale-password-2" }))
            changed.StatusCode.ShouldBe(HttpStatusCode.NoContent);

        await browser.Page.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        await browser.Page.GetByText("Your session has ended").WaitForAsync();
        browser.Page.Url.ShouldEndWith("#/apikeys");
        await browser.ScreenshotAsync("session-ended");
        await browser.Page.GetByLabel("Username").FillAsync("stale");
        await browser.Page.GetByLabel("Password", new() { Exact = true }).FillAsync("stale-password-2");
        await browser.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await browser.Page.GetByRole(AriaRole.Heading, new() { Name = "API keys" }).WaitForAsync();
        (await browser.StoredAsync()).ShouldNotContain("stale-password");
        (await browser.ViolationsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task The_dashboard_is_usable_in_a_narrow_window_and_signing_out_ends_the_session()
    {
        await using var narrow = await WatchedPage.OpenAsync(fixture, width: 390, height: 844);
        await narrow.SignInAsync("admin", TestServer.AdminPassword, "users");
        await narrow.Page.Locator("tr[data-user=admin]").WaitForAsync();
        var overflow = await narrow.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth");
        overflow.ShouldBeFalse();
        await narrow.ScreenshotAsync("users-narrow");
        await narrow.Page.GotoAsync("/#/events");
        await narrow.Page.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await narrow.Page.Locator("li.event, [data-testid=no-events]").First.WaitForAsync();
        (await narrow.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth")).ShouldBeFalse();
        await narrow.ScreenshotAsync("events-narrow");
        (await narrow.ViolationsAsync()).ShouldBeEmpty();

        await narrow.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await narrow.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" }).WaitForAsync();
        (await narrow.Page.GetByLabel("Username").InputValueAsync()).ShouldBeEmpty();
        // Signed out on the server too: the session cookie no longer lets the page read anything.
        (await narrow.Page.EvaluateAsync<int>("async () => (await fetch('/api/users/current')).status")).ShouldBe(401);
    }

    [Fact]
    public async Task The_server_serves_the_dashboard_at_the_root_under_its_content_security_policy()
    {
        using var response = await Server.CreateClient().GetAsync("/");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync();
        html.ShouldContain("<div id=\"app\">");
        // Only files of its own origin: no inline script or style for the policy to have to allow.
        Regex.Matches(html, "<script[^>]*>").ShouldAllBe(tag => tag.Value.Contains("src=\"/dashboard/"));
        html.ShouldNotContain("<style");
        string.Join(";", response.Headers.GetValues("Content-Security-Policy")).ShouldContain("default-src 'self'");
        string.Join(";", response.Headers.GetValues("Content-Security-Policy")).ShouldNotContain("unsafe");
    }
}

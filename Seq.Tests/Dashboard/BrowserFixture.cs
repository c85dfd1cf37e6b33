using Microsoft.Playwright;
using Seq.Tests.Support;

namespace Seq.Tests.Dashboard;

/// <summary>
/// One server and one headless Chromium shared by the dashboard's tests; each test opens its own browser context
/// (its own cookies), which is what a second person at another browser would have. The browser is the machine's
/// Chromium (<c>apt-get install chromium</c>): browsers cannot be downloaded here.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    IPlaywright? _playwright;
    readonly string _backups = TestDirectories.NewPath("dashboard-backups");

    public TestServer Server { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"The dashboard's browser tests need Chromium at {ChromiumPath}: apt-get install -y chromium");
        var serverStart = TestServer.StartAsync(o => o with { BackupLocation = _backups });
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
        Server = await serverStart;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.DisposeAsync();
        _playwright?.Dispose();
        if (Server is not null)
            await Server.DisposeAsync();
        TestDirectories.Delete(_backups);
    }

    /// <summary>
    /// Where the tests save a screenshot of each screen: docs/screenshots in the repository (linked from the README)
    /// when SEQ_UPDATE_SCREENSHOTS=1, so that an ordinary run leaves the clone clean; otherwise the run's temporary folder.
    /// </summary>
    public static string ScreenshotPath(string name)
    {
        if (Environment.GetEnvironmentVariable("SEQ_UPDATE_SCREENSHOTS") != "1")
        {
            var scratch = Path.Combine(TestDirectories.Root, "screenshots");
            Directory.CreateDirectory(scratch);
            return Path.Combine(scratch, name + ".png");
        }
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Seq.sln")))
            directory = directory.Parent;
        var folder = Path.Combine(directory?.FullName ?? throw new InvalidOperationException("The repository root (Seq.sln) was not found."), "docs", "screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name + ".png");
    }
}

/// <summary>
/// A page in a fresh browser context that records what must never happen: a dialog (an injected <c>alert</c>), a
/// Content-Security-Policy violation (seen by a listener installed before any page script runs), or a page error.
/// </summary>
public sealed class WatchedPage : IAsyncDisposable
{
    const string RecordViolations = """
        window.__violations = [];
        document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
        """;

    readonly IBrowserContext _context;

    WatchedPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Dialog += (_, dialog) =>
        {
            Dialogs.Add(dialog.Message);
            _ = dialog.DismissAsync();
        };
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
                ConsoleViolations.Add(message.Text);
        };
        page.PageError += (_, error) => PageErrors.Add(error);
    }

    public IPage Page { get; }
    public List<string> Dialogs { get; } = [];
    public List<string> ConsoleViolations { get; } = [];
    public List<string> PageErrors { get; } = [];

    public static async Task<WatchedPage> OpenAsync(BrowserFixture fixture, int width = 1280, int height = 800)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.Server.Address.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        context.SetDefaultTimeout(10_000);
        await context.AddInitScriptAsync(RecordViolations);
        return new WatchedPage(context, await context.NewPageAsync());
    }

    public async Task<IReadOnlyList<string>> ViolationsAsync() =>
        [.. await Page.EvaluateAsync<string[]>("() => window.__violations"), .. ConsoleViolations];

    /// <summary>Nothing the dashboard keeps may be in the browser's storage or the address bar.</summary>
    public async Task<string> StoredAsync() =>
        await Page.EvaluateAsync<string>("() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }) + ' ' + location.href");

    public async Task SignInAsync(string username, string password, string route = "")
    {
        await Page.GotoAsync("/#/" + route);
        await Page.GetByLabel("Username").FillAsync(username);
        await Page.GetByLabel("Password", new PageGetByLabelOptions { Exact = true }).FillAsync(password);
        await Page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Sign in", Exact = true }).ClickAsync();
        await Page.GetByTestId("signed-in-as").WaitForAsync();
    }

    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = BrowserFixture.ScreenshotPath(name), FullPage = true });

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}

using System.Net.Http.Json;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Seq.Tests.Support;

/// <summary>
/// The real <c>seqsvr</c> executable in a child process, optionally under a wrapper such as strace, listening on a
/// free loopback port. Its console output is captured for assertions.
/// </summary>
public sealed class SeqsvrProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly ConcurrentQueue<string> _output = new();
    readonly ConcurrentQueue<string> _error = new();
    readonly bool _wrapped;

    SeqsvrProcess(Process process, int port, bool wrapped)
    {
        _process = process;
        _wrapped = wrapped;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(15) };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); _error.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public HttpClient Client { get; }
    public string Output => string.Join('\n', _output);

    /// <summary>Standard error alone (it is in <see cref="Output"/> too), complete once the process has exited.</summary>
    public IReadOnlyList<string> ErrorLines => [.. _error];
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The server's own process id (under a wrapper, the wrapper's child), for tools that attach to it.</summary>
    public int ProcessId => _wrapped
        ? int.Parse(File.ReadAllText($"/proc/{_process.Id}/task/{_process.Id}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture)
        : _process.Id;

    /// <summary>Starts <c>seqsvr run --storage <paramref name="storageRoot"/></c>; <paramref name="wrapper"/> is a command and its arguments placed before it.</summary>
    public static SeqsvrProcess Start(string storageRoot, IReadOnlyDictionary<string, string?>? environment = null, IReadOnlyList<string>? wrapper = null)
    {
        var port = FreeLoopbackPort();
        var command = new List<string>(wrapper ?? []) { Environment.ProcessPath!, Path.Combine(AppContext.BaseDirectory, "seqsvr.dll"), "run", "--storage", storageRoot };
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
            start.ArgumentList.Add(argument);

        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("SEQ_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        start.Environment["SEQ_API_LISTENURIS"] = $"http://127.0.0.1:{port}";
        start.Environment["SEQ_FIRSTRUN_ADMINPASSWORD"] = AdminPassword;
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            start.Environment[name] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{command[0]} did not start.");
        return new SeqsvrProcess(process, port, wrapper is not null);
    }

    /// <summary>The administrator's password at first start, unless a test's environment says otherwise.</summary>
    public const string AdminPassword = "process-admin-password-1";

    /// <summary>Logs <see cref="Client"/> in as the administrator, with the session's CSRF token on every request.</summary>
    public async Task LoginAsAdminAsync()
    {
        using var response = await Client.PostAsJsonAsync("/api/users/login", new { Username = "admin", Password = AdminPassword });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        Client.DefaultRequestHeaders.Remove("X-Seq-CsrfToken");
        Client.DefaultRequestHeaders.Add("X-Seq-CsrfToken", System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("CsrfToken").GetString());
    }

    public async Task WaitUntilHealthyAsync()
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"seqsvr exited with code {_process.ExitCode} during start-up:\n{Output}");
            try
            {
                using var response = await Client.GetAsync("/health");
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"seqsvr did not become healthy within two minutes:\n{Output}");
    }

    /// <summary>Waits for the process to end by itself, as it should when it refuses to start.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM, as a service manager would, and waits for a clean shutdown.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
            return;

        // Under a wrapper the server is the wrapper's child; signal the server, and the wrapper follows it out.
        var targets = _wrapped
            ? File.ReadAllText($"/proc/{_process.Id}/task/{_process.Id}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : [_process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        foreach (var pid in targets)
            Process.Start("kill", ["-TERM", pid])!.WaitForExit();

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"seqsvr did not shut down within a minute of SIGTERM:\n{Output}");
        }
    }

    static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try { await StopAsync(); }
            catch (TimeoutException) { }
        }
        Client.Dispose();
        _process.Dispose();
    }
}

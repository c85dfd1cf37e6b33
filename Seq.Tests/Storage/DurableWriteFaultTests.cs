using System.Diagnostics;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Storage;

/// <summary>
/// Real seqsvr processes under strace, which makes their fsyncs fail with EIO: the files the program must be able to
/// trust (Seq.json, the SecretKey, the private cluster's password) are either durably written or left as they were,
/// and the failure is one clear line. .NET's own <c>Flush(flushToDisk: true)</c> would report success (ADR 0009).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DurableWriteFaultTests : IDisposable
{
    // Both fail: the temporary file's fdatasync fails before anything is renamed.
    const string DataSyncFails = "fsync,fdatasync";
    // Only the directory's fsync fails, after the new file has been renamed into place.
    const string DirectorySyncFails = "fsync";

    readonly string _root = TestDirectories.NewPath("durable");

    string Storage => Path.Combine(_root, "storage");
    string TraceFile => Path.Combine(_root, "eio.trace");

    public DurableWriteFaultTests() => Directory.CreateDirectory(_root);

    [Theory]
    [InlineData(DataSyncFails)]
    [InlineData(DirectorySyncFails)]
    public async Task Config_set_whose_fsync_fails_exits_with_one_line_and_leaves_Seq_json_as_it_was(string failing)
    {
        (await RunAsync(null, "config", "set", "-k", "audit.auditPath", "-v", "/before")).ExitCode.ShouldBe(0);
        var configurationFile = Path.Combine(Storage, HostConfiguration.FileName);
        var before = await File.ReadAllBytesAsync(configurationFile);
        var entries = Entries();

        var (exitCode, output, error) = await RunAsync(failing, "config", "set", "-k", "audit.auditPath", "-v", "/after");

        exitCode.ShouldBe(1, output + error);
        InjectedFaultWasHit();
        (await File.ReadAllBytesAsync(configurationFile)).ShouldBe(before);
        Entries().ShouldBe(entries, "no temporary file or second name is left behind");
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(1, error);
        lines[0].ShouldContain("The setting was not saved");
        lines[0].ShouldContain($"{configurationFile} is unchanged");
        lines[0].ShouldContain("Input/output error");

        var (again, _, againError) = await RunAsync(null, "config", "set", "-k", "audit.auditPath", "-v", "/after");
        again.ShouldBe(0, againError);
        (await File.ReadAllTextAsync(configurationFile)).ShouldContain("/after");
    }

    [Theory]
    [InlineData(DataSyncFails)]
    [InlineData(DirectorySyncFails)]
    public async Task A_secret_key_whose_fsync_fails_is_not_stored_and_the_command_says_so_in_one_line(string failing)
    {
        // `secret set` is the one command that stores a key in a new storage root (show-key refuses one with no instance).
        var (exitCode, output, error) = await RunAsync(failing, "secret", "set", "-k", "firstRun.adminPassword", "-v", "first-run-password-1");

        exitCode.ShouldBe(1, output + error);
        InjectedFaultWasHit();
        output.ShouldBeEmpty("no key may be shown that was not stored");
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(1, error);
        lines[0].ShouldContain("so no key was stored");
        lines[0].ShouldContain("Input/output error");
        File.Exists(Path.Combine(Storage, SecretKeyLoader.KeyFileName)).ShouldBeFalse();
        Entries().ShouldNotContain(e => e.EndsWith(".tmp", StringComparison.Ordinal));

        (await RunAsync(null, "secret", "set", "-k", "firstRun.adminPassword", "-v", "first-run-password-1")).ExitCode.ShouldBe(0);
        var (again, key, againError) = await RunAsync(null, "show-key");
        again.ShouldBe(0, againError);
        Convert.FromBase64String(key.Trim()).Length.ShouldBe(32);
    }

    [Fact]
    public async Task A_first_start_whose_fsync_fails_stops_with_one_clear_line_and_stores_no_key()
    {
        await using var server = SeqsvrProcess.Start(Storage, wrapper: StraceWrapper(DataSyncFails));

        (await server.WaitForExitAsync()).ShouldBe(1, server.Output);
        InjectedFaultWasHit();
        File.Exists(Path.Combine(Storage, SecretKeyLoader.KeyFileName)).ShouldBeFalse(server.Output);
        server.Output.Split('\n').Count(l => l.Contains("Input/output error", StringComparison.Ordinal)).ShouldBe(1, server.Output);
        server.Output.ShouldContain("so no key was stored");
        server.Output.ShouldNotContain("   at ");
    }

    [Fact]
    public async Task A_first_start_whose_fsync_fails_while_writing_the_cluster_password_stops_and_leaves_no_password_or_cluster()
    {
        // The key already exists, so the first fsync of this start is the private cluster's password file.
        (await RunAsync(null, "secret", "set", "-k", "firstRun.adminPassword", "-v", SeqsvrProcess.AdminPassword)).ExitCode.ShouldBe(0);
        var cluster = Path.Combine(Storage, "PostgreSQL");

        await using var server = SeqsvrProcess.Start(Storage, wrapper: StraceWrapper(DataSyncFails));

        (await server.WaitForExitAsync()).ShouldBe(1, server.Output);
        InjectedFaultWasHit();
        File.Exists(Path.Combine(cluster, "password")).ShouldBeFalse(server.Output);
        Directory.Exists(Path.Combine(cluster, "data")).ShouldBeFalse();
        Directory.EnumerateFiles(cluster, "*.tmp").ShouldBeEmpty();
        var problem = server.Output.Split('\n').Where(l => l.Contains("Input/output error", StringComparison.Ordinal)).ToList();
        problem.Count.ShouldBe(1, server.Output);
        problem[0].ShouldContain($"{Path.Combine(cluster, "password")} was not created");
        server.Output.ShouldNotContain("   at ");
    }

    string[] StraceWrapper(string failing) =>
        ["strace", "-f", "-qq", "-o", TraceFile, "-e", "trace=fsync,fdatasync", "-e", $"inject={failing}:error=EIO"];

    /// <summary>Runs <c>seqsvr ARGS --storage</c> as a process of its own, under strace when <paramref name="failing"/> names syscalls to fail.</summary>
    async Task<(int ExitCode, string Output, string Error)> RunAsync(string? failing, params string[] args)
    {
        List<string> command = [.. failing is null ? [] : StraceWrapper(failing), Environment.ProcessPath!, Path.Combine(AppContext.BaseDirectory, "seqsvr.dll"), .. args, "--storage", Storage];
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
            start.ArgumentList.Add(argument);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("SEQ_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    void InjectedFaultWasHit() =>
        File.ReadAllText(TraceFile).ShouldContain("EIO (Input/output error) (INJECTED)");

    List<string> Entries() => [.. Directory.EnumerateFileSystemEntries(Storage).Select(e => Path.GetFileName(e)).Order(StringComparer.Ordinal)];

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}

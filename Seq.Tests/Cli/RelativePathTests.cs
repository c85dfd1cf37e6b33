using Seq.Tests.Support;
using System.Diagnostics;
using Seq.Infrastructure.Configuration;

namespace Seq.Tests.Cli;

/// <summary>
/// <c>dotnet run --project Seq.Api -- …</c> from the README, run for real: the Web SDK would start the program in
/// <c>Seq.Api/</c>, and relative paths on the command line must mean the user's directory instead.
/// </summary>
public sealed class RelativePathTests : IDisposable
{
#if DEBUG
    const string Configuration = "Debug";
#else
    const string Configuration = "Release";
#endif

    readonly string _root = TestDirectories.NewPath("relative");
    readonly string _storage = $"relstore-{Guid.NewGuid():N}";

    public RelativePathTests() => Directory.CreateDirectory(Path.Combine(_root, "work"));

    static string ApiProjectDirectory()
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "Seq.sln")))
            directory = Path.GetDirectoryName(directory);
        return Path.Combine(directory ?? throw new InvalidOperationException("Seq.sln not found above the test binaries."), "Seq.Api");
    }

    async Task<(int ExitCode, string Output, string Error)> DotnetRunAsync(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in new[] { "run", "--no-build", "-c", Configuration, "--project", ApiProjectDirectory(), "--" }.Concat(args))
            start.ArgumentList.Add(argument);
        // The test host's MSBuild and SEQ_ variables would change what the nested dotnet run does.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("SEQ_", StringComparison.Ordinal) || k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        start.Environment["PWD"] = workingDirectory;

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    [Fact]
    public async Task A_relative_storage_root_under_dotnet_run_is_in_the_directory_the_command_was_run_from()
    {
        var work = Path.Combine(_root, "work");
        var storage = _storage;

        var (exitCode, output, error) = await DotnetRunAsync(work, "config", "set", "-k", "firstRun.adminUsername", "-v", "someone", "--storage", storage);

        exitCode.ShouldBe(0, output + error);
        File.Exists(Path.Combine(work, storage, HostConfiguration.FileName)).ShouldBeTrue(output + error);
        Directory.Exists(Path.Combine(ApiProjectDirectory(), storage)).ShouldBeFalse();
    }

    [Fact]
    public async Task A_relative_audit_file_under_dotnet_run_is_looked_for_from_the_directory_the_command_was_run_from()
    {
        var (exitCode, output, error) = await DotnetRunAsync(Path.Combine(_root, "work"), "audit", "verify", "--key-on-input", "--file", "../missing.ndjson");

        exitCode.ShouldBe(1, output + error);
        error.ShouldContain($"There is no audit file or folder at {Path.Combine(_root, "missing.ndjson")}.");
    }

    public void Dispose()
    {
        TestDirectories.Delete(_root);
        // Where the storage root went before the fix; a failing run must not leave it in the source tree.
        if (Directory.Exists(Path.Combine(ApiProjectDirectory(), _storage)))
            Directory.Delete(Path.Combine(ApiProjectDirectory(), _storage), recursive: true);
    }
}

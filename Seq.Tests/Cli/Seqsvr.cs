using Seq.Tests.Support;

namespace Seq.Tests.Cli;

/// <summary>What one run of the <c>seqsvr</c> command line left behind.</summary>
sealed record CliResult(int ExitCode, string Output, string Error)
{
    public string Everything => Output + Error;

    /// <summary>Refused as a user should see it: exit code 1, nothing on standard output, one line and no stack trace on standard error.</summary>
    public void ShouldBeAOneLineRefusal()
    {
        ExitCode.ShouldBe(1, Everything);
        Output.ShouldBeEmpty();
        Error.TrimEnd().Split('\n').Length.ShouldBe(1, Error);
        Error.ShouldNotContain("   at ");
    }
}

/// <summary>
/// Runs the real <c>seqsvr</c> command line in-process against a throwaway storage root, with an environment of its own
/// instead of the test process's, so that a SEQ_ variable on the machine cannot change what a test sees.
/// </summary>
sealed class Seqsvr : IDisposable
{
    public Seqsvr()
    {
        StorageRoot = TestDirectories.NewPath("cli");
    }

    public string StorageRoot { get; }
    public string ConfigurationFile => Path.Combine(StorageRoot, "Seq.json");
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public string? GetEnvironmentVariable(string name) => Environment.GetValueOrDefault(name);

    /// <summary>Runs <c>seqsvr</c> with <paramref name="args"/> followed by <c>--storage</c> and this instance's root.</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync("", args);

    public async Task<CliResult> RunWithInputAsync(string input, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var reader = new StringReader(input);
        var exitCode = await Seq.Api.Program.InvokeAsync([.. args, "--storage", StorageRoot], output, error, reader, GetEnvironmentVariable);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        if (Directory.Exists(StorageRoot))
            Directory.Delete(StorageRoot, recursive: true);
    }
}

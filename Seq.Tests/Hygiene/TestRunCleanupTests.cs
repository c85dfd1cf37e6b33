using System.Diagnostics;
using Seq.Tests.Support;

namespace Seq.Tests.Hygiene;

/// <summary>A test run leaves nothing in the temporary directory (issue 10, item 7); .ci/run checks the whole run.</summary>
public sealed class TestRunCleanupTests
{
    internal static string RepositoryRoot()
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "Seq.sln")))
            directory = Path.GetDirectoryName(directory);
        directory.ShouldNotBeNull("the tests run from inside the repository");
        return directory;
    }

    [Fact]
    public void Tests_make_temporary_paths_only_under_the_runs_own_root()
    {
        var tests = Path.Combine(RepositoryRoot(), "Seq.Tests");
        var separator = Path.DirectorySeparatorChar;
        var offenders = Directory.EnumerateFiles(tests, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{separator}bin{separator}", StringComparison.Ordinal) && !f.Contains($"{separator}obj{separator}", StringComparison.Ordinal))
            .Where(f => Path.GetFileName(f) is not ("TestDirectories.cs" or "TestRunCleanupTests.cs"))
            .Where(f => File.ReadAllText(f) is var text
                && (text.Contains("GetTempPath", StringComparison.Ordinal)
                    || text.Contains("GetTempFileName", StringComparison.Ordinal)
                    || text.Contains("CreateTempSubdirectory", StringComparison.Ordinal)
                    || text.Contains("mktemp", StringComparison.Ordinal)))
            .Select(f => Path.GetRelativePath(tests, f))
            .ToList();

        offenders.ShouldBeEmpty("a test's temporary path must come from TestDirectories, whose root is removed at the end of the run");
    }

    [Fact]
    public void A_tests_path_lies_under_the_runs_root_named_after_the_test_process()
    {
        var path = TestDirectories.NewPath("probe");

        TestDirectories.Root.ShouldBe(Path.Combine(Path.GetTempPath(), $"seq-tests-{Environment.ProcessId}"));
        Path.GetDirectoryName(path).ShouldBe(TestDirectories.Root);
        Directory.Exists(TestDirectories.Root).ShouldBeTrue();
    }

    [Fact]
    public void Disposing_a_tests_paths_removes_what_the_test_made_there()
    {
        string directory;
        string file;
        using (var paths = new TestPaths())
        {
            directory = paths.New("probe");
            Directory.CreateDirectory(Path.Combine(directory, "nested"));
            File.WriteAllText(Path.Combine(directory, "nested", "file"), "x");
            file = paths.New("probe-file");
            File.WriteAllText(file, "x");
        }

        Directory.Exists(directory).ShouldBeFalse();
        File.Exists(file).ShouldBeFalse();
    }

    [Fact]
    public async Task The_janitor_stops_a_cluster_under_the_root_and_removes_the_root_once_the_test_host_is_gone()
    {
        var root = TestDirectories.NewPath("janitor");
        var data = Path.Combine(root, "store", "PostgreSQL", "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(root, "store", "Seq.json"), "{}");

        // Stand-ins: a "test host" to outlive, and a "postmaster" whose command line names its data directory, as
        // PostgreSQL's does, and which ends on SIGQUIT (the janitor's immediate shutdown).
        using var host = Start("sleep", "600");
        // env resets SIGQUIT first: a shell cannot trap a signal that was ignored when it started, and whether the test
        // host's children start with it ignored depends on what else ran in the host (a host's console lifetime).
        using var postmaster = Start("env", "--default-signal=QUIT", "sh", "-c", "trap 'exit 0' QUIT; while :; do sleep 0.1; done", data);
        File.WriteAllText(Path.Combine(data, "postmaster.pid"), $"{postmaster.Id}\n{data}\n");
        // A stale postmaster.pid naming a process that is not a server on that directory must not get it killed.
        using var bystander = Start("sleep", "600");
        Directory.CreateDirectory(Path.Combine(root, "stale", "data"));
        File.WriteAllText(Path.Combine(root, "stale", "data", "postmaster.pid"), $"{bystander.Id}\n");

        try
        {
            TestDirectories.StartJanitor(host.Id, root);
            await Task.Delay(TimeSpan.FromMilliseconds(100));
            Directory.Exists(root).ShouldBeTrue("the janitor waits while the test host runs");

            host.Kill();
            // Generous: on a machine loaded by a parallel run the janitor's shell may wait long for its turn.
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while ((Directory.Exists(root) || !postmaster.HasExited) && DateTime.UtcNow < deadline)
                await Task.Delay(50);

            postmaster.HasExited.ShouldBeTrue("the janitor stops a server running on a data directory under the root");
            Directory.Exists(root).ShouldBeFalse("the janitor removes the root");
            bystander.HasExited.ShouldBeFalse("a process that only a stale postmaster.pid names is left alone");
        }
        finally
        {
            foreach (var process in new[] { host, postmaster, bystander }.Where(p => !p.HasExited))
                process.Kill();
        }
    }

    static Process Start(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return Process.Start(start) ?? throw new InvalidOperationException($"{command} did not start");
    }
}

using System.ComponentModel;
using System.Diagnostics;

namespace Seq.Tests.Support;

/// <summary>
/// Every directory or file a test makes lives under one root per test run, <c>$TMPDIR/seq-tests-{pid}</c>. The root is
/// removed when the test process exits, and by a detached janitor if the process is killed before it can clean up, so a
/// run leaves nothing in the temporary directory even when a test fails or forgets its own cleanup.
/// </summary>
public static class TestDirectories
{
    public const string RootPrefix = "seq-tests-";

    static readonly Lazy<string> RunRoot = new(CreateRoot);
    static readonly Lock Gate = new();
    static readonly List<Action> BeforeRemoval = [];

    /// <summary>This run's root, created on first use.</summary>
    public static string Root => RunRoot.Value;

    /// <summary>A fresh path under the run's root, <c>{prefix}-{random}</c>, not yet created. Kept short: a private
    /// cluster's Unix socket path must fit in 100 bytes.</summary>
    public static string NewPath(string prefix) => Path.Combine(Root, $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}");

    /// <summary>Runs <paramref name="action"/> at the end of the run before the root is removed (last registered, first run),
    /// e.g. to stop a process that still has files open under the root.</summary>
    public static void AtEndOfRun(Action action)
    {
        _ = Root;
        lock (Gate)
            BeforeRemoval.Add(action);
    }

    /// <summary>Removes a test's directory or file; a test's cleanup must not fail the test it cleans up after.</summary>
    public static void Delete(string path)
    {
        try
        {
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
            else if (File.Exists(path))
                File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The run's root goes at the end of the run regardless.
        }
    }

    static string CreateRoot()
    {
        var root = Path.Combine(Path.GetTempPath(), $"{RootPrefix}{Environment.ProcessId}");
        // A root with this process id can only be left by an earlier, killed process whose id was reused.
        Delete(root);
        Directory.CreateDirectory(root);

        AppDomain.CurrentDomain.ProcessExit += (_, _) => RemoveRoot(root);
        StartJanitor(Environment.ProcessId, root);
        return root;
    }

    static void RemoveRoot(string root)
    {
        Action[] actions;
        lock (Gate)
            actions = [.. BeforeRemoval];
        // Throwing here would crash the test host after a green run; the janitor finishes whatever fails here.
        foreach (var action in actions.Reverse())
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"A test clean-up under {root} failed at exit: {e.Message}");
            }
        }
        try
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"The test directory {root} was not removed at exit: {e.Message}");
        }
    }

    /// <summary>The janitor's script: waits for process <c>$1</c> to end, stops every PostgreSQL server whose data
    /// directory is under <c>$2</c> (SIGQUIT, immediate shutdown), then removes <c>$2</c>.</summary>
    internal const string JanitorScript = """
        exec </dev/null >/dev/null 2>&1
        # A process that has ended but is not yet reaped by its parent (a zombie, state Z) still answers kill -0.
        alive() { kill -0 "$1" && [ "$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat")" != Z ]; }
        while alive "$1"; do sleep 1; done
        find "$2" -name postmaster.pid -type f | while read -r pidfile; do
          data=$(dirname "$pidfile")
          postmaster=$(head -n 1 "$pidfile")
          # Only a process started on that data directory: a stale postmaster.pid may name a reused process id.
          if [ -n "$postmaster" ] && tr '\0' ' ' <"/proc/$postmaster/cmdline" | grep -qF -- "$data" && kill -QUIT "$postmaster"; then
            for attempt in $(seq 100); do kill -0 "$postmaster" || break; sleep 0.1; done
          fi
        done
        rm -rf -- "$2"
        """;

    // vstest kills the test host 100 ms after asking it to exit, usually in the middle of the ProcessExit handler, and a
    // crashed or killed test host runs no handler at all. A detached process that outlives the test host finishes.
    internal static void StartJanitor(int watchedProcessId, string root)
    {
        try
        {
            var startInfo = new ProcessStartInfo("setsid")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in new[] { "--fork", "sh", "-c", JanitorScript, "seq-tests-janitor", $"{watchedProcessId}", root })
                startInfo.ArgumentList.Add(argument);
            using var setsid = Process.Start(startInfo);
            setsid?.WaitForExit();
        }
        catch (Win32Exception)
        {
            // No setsid (not Linux): the ProcessExit handler is all there is.
        }
    }
}

/// <summary>The temporary paths one test made, removed when the test class instance is disposed (after every test, pass or fail).</summary>
public sealed class TestPaths : IDisposable
{
    readonly List<string> _paths = [];

    public string New(string prefix)
    {
        var path = TestDirectories.NewPath(prefix);
        lock (_paths)
            _paths.Add(path);
        return path;
    }

    public void Dispose()
    {
        lock (_paths)
        {
            foreach (var path in _paths)
                TestDirectories.Delete(path);
            _paths.Clear();
        }
    }
}

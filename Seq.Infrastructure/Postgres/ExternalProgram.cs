using System.ComponentModel;
using System.Diagnostics;

namespace Seq.Infrastructure.Postgres;

sealed record ProgramOutput(int ExitCode, string StandardOutput, string StandardError)
{
    public const string Redacted = "********";

    public bool Succeeded => ExitCode == 0;

    /// <summary>What the program said, for an error message: its stderr, or its stdout when stderr is empty.</summary>
    public string Diagnostics(string? secret)
    {
        var text = (string.IsNullOrWhiteSpace(StandardError) ? StandardOutput : StandardError).Trim();
        return string.IsNullOrEmpty(secret) ? text : text.Replace(secret, Redacted, StringComparison.Ordinal);
    }
}

/// <summary>Runs a program directly, without a shell, and captures what it prints.</summary>
static class ExternalProgram
{
    public static async Task<ProgramOutput> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // When root runs a tool as postgres, a working directory like /root would be unreadable to it.
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);

        // libpq settings meant for some other server (PGHOST, PGPORT, PGOPTIONS, ...) would steer pg_ctl's readiness checks.
        foreach (var name in startInfo.Environment.Keys.Where(name => name.StartsWith("PG", StringComparison.Ordinal)).ToList())
            startInfo.Environment.Remove(name);

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new EmbeddedPostgresException($"Could not run {fileName}.");
        }
        catch (Win32Exception e)
        {
            throw new EmbeddedPostgresException($"Could not run {fileName}: {e.Message}", e);
        }

        using (process)
        {
            process.StandardInput.Close();
            var standardOutput = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var standardError = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Kill(process);
                throw;
            }
            return new ProgramOutput(process.ExitCode, await standardOutput, await standardError);
        }
    }

    static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own in the meantime.
        }
    }
}

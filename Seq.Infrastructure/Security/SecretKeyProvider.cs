using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Seq.Infrastructure.Security;

/// <summary>
/// Runs the program named by <c>SEQ_SECRETKEY_PROVIDER</c>, without a shell, and reads the key it prints. Its standard
/// output is never repeated anywhere, since it holds the key; of its standard error only a short, redacted tail is.
/// </summary>
static partial class SecretKeyProvider
{
    const int MaxStandardOutput = 4096;
    const int MaxStandardErrorKept = 4096;
    const int MaxStandardErrorShown = 200;
    const string Redacted = "********";

    public static async Task<SecretKey> RunAsync(string path, string? arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(path)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in SplitArguments(arguments))
            startInfo.ArgumentList.Add(argument);
        startInfo.Environment.Remove(SecretKeyOptions.SecretKeySetting);

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new SecretKeyException($"The secret key provider {path} could not be started.");
        }
        catch (Win32Exception e)
        {
            throw new SecretKeyException($"The secret key provider {path} could not be started (is it there, and executable?): {e.Message}");
        }

        using (process)
        {
            process.StandardInput.Close();

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            var standardOutput = ReadHeadAsync(process.StandardOutput, MaxStandardOutput, limit.Token);
            var standardError = ReadTailAsync(process.StandardError, MaxStandardErrorKept, limit.Token);
            try
            {
                await process.WaitForExitAsync(limit.Token);
                await Task.WhenAll(standardOutput, standardError);
            }
            catch (OperationCanceledException)
            {
                await StopAsync(process, standardOutput, standardError);
                cancellationToken.ThrowIfCancellationRequested();
                throw new SecretKeyException(
                    $"The secret key provider {path} did not finish within {timeout.TotalSeconds:0.#} s, so it was stopped.");
            }

            var printed = (await standardOutput).Trim();
            if (process.ExitCode != 0)
            {
                var diagnostics = Sanitize(await standardError, printed);
                throw new SecretKeyException(
                    $"The secret key provider {path} failed with exit code {process.ExitCode}" +
                    (diagnostics.Length == 0 ? "." : $": {diagnostics}"));
            }

            if (printed.Length == 0)
                throw new SecretKeyException($"The secret key provider {path} printed nothing; it must print the secret key, in base64, on standard output.");

            try
            {
                return SecretKey.FromBase64(printed);
            }
            catch (SecretKeyException)
            {
                throw new SecretKeyException(
                    $"The secret key provider {path} did not print a valid secret key: it must print 32 bytes encoded in base64, and nothing else, on standard output.");
            }
        }
    }

    /// <summary>Splits on whitespace; double quotes group words into one argument and are removed.</summary>
    internal static IReadOnlyList<string> SplitArguments(string? text)
    {
        var arguments = new List<string>();
        if (text is null)
            return arguments;

        var current = new StringBuilder();
        var quoted = false;
        var inArgument = false;
        foreach (var c in text)
        {
            if (c == '"')
            {
                quoted = !quoted;
                inArgument = true;
            }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (inArgument)
                    arguments.Add(current.ToString());
                current.Clear();
                inArgument = false;
            }
            else
            {
                current.Append(c);
                inArgument = true;
            }
        }

        // The arguments are not repeated: they may carry a credential for the key vault.
        if (quoted)
            throw new SecretKeyException($"{SecretKeyOptions.ProviderArgumentsSetting} has a double quote that is not closed.");
        if (inArgument)
            arguments.Add(current.ToString());
        return arguments;
    }

    /// <summary>What stderr ended with, on one line, with anything that could be a key blanked out.</summary>
    internal static string Sanitize(string standardError, string standardOutput)
    {
        var text = standardOutput.Length == 0 ? standardError : standardError.Replace(standardOutput, Redacted, StringComparison.Ordinal);
        text = KeyLike().Replace(text, Redacted);
        text = ControlOrSpace().Replace(text, " ").Trim();
        return text.Length <= MaxStandardErrorShown ? text : "…" + text[^MaxStandardErrorShown..].TrimStart();
    }

    static async Task StopAsync(Process process, Task standardOutput, Task standardError)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own in the meantime.
        }

        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await Task.WhenAll(process.WaitForExitAsync(grace.Token), standardOutput, standardError).WaitAsync(grace.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The readers were cancelled with the time limit; what they read no longer matters.
        }
    }

    static async Task<string> ReadHeadAsync(StreamReader reader, int limit, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var buffer = new char[1024];
        int read;
        // Reads to the end even past the limit, so that a chatty program never blocks on a full pipe.
        while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
            text.Append(buffer, 0, Math.Min(read, Math.Max(0, limit - text.Length)));
        return text.ToString();
    }

    static async Task<string> ReadTailAsync(StreamReader reader, int limit, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var buffer = new char[1024];
        int read;
        while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
        {
            text.Append(buffer, 0, read);
            if (text.Length > 2 * limit)
                text.Remove(0, text.Length - limit);
        }
        return text.Length > limit ? text.ToString(text.Length - limit, limit) : text.ToString();
    }

    // Base64, base64url or hex runs as long as a 32-byte key's.
    [GeneratedRegex(@"[A-Za-z0-9+/_\-]{32,}={0,2}")]
    private static partial Regex KeyLike();

    [GeneratedRegex(@"[\p{C}\s]+")]
    private static partial Regex ControlOrSpace();
}

using System.Text;
using Microsoft.Extensions.Logging;
using Seq.Application.Security;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.Security;

namespace Seq.Api.Cli;

/// <summary>
/// What a command reads and writes, passed in rather than taken from <see cref="Console"/> so that tests can run the
/// real command line in-process with their own streams and environment.
/// </summary>
sealed class CliConsole(TextWriter output, TextWriter error, TextReader input, bool inputIsTerminal, Func<string, string?> getEnvironmentVariable)
{
    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;
    public Func<string, string?> GetEnvironmentVariable { get; } = getEnvironmentVariable;
    public bool InputIsTerminal { get; } = inputIsTerminal;

    public static CliConsole FromProcess() =>
        new(Console.Out, Console.Error, Console.In, !Console.IsInputRedirected, Environment.GetEnvironmentVariable);

    /// <summary>One line from standard input, such as an answer to a confirmation; null at the end of input.</summary>
    public string? ReadLine() => InputIsTerminal ? Console.ReadLine() : input.ReadLine();

    /// <summary>One line from standard input, read without echo when it is a terminal; null at the end of input.</summary>
    public string? ReadSecretLine(string prompt)
    {
        if (!InputIsTerminal)
            return input.ReadLine();

        Error.Write(prompt);
        var line = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
                break;
            if (key.Key == ConsoleKey.Backspace)
            {
                if (line.Length > 0)
                    line.Length--;
                continue;
            }
            if (!char.IsControl(key.KeyChar))
                line.Append(key.KeyChar);
        }
        Error.WriteLine();
        return line.ToString();
    }

    /// <summary>
    /// Runs a command's work, turning the failures a user can cause and fix (an unknown key, a malformed value, the
    /// wrong secret key) into one line on standard error and exit code 1. Their messages are written to be shown.
    /// </summary>
    public async Task<int> RunAsync(Func<Task<int>> work)
    {
        try
        {
            return await work();
        }
        catch (Exception e) when (e is HostConfigurationException or SecretKeyException or SecretProtectionException or CliException)
        {
            await Error.WriteLineAsync(e.Message);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Error.WriteLineAsync($"The storage root could not be used: {e.Message}");
            return 1;
        }
    }

    /// <summary>The secret key logger's information, such as where the key came from or that one was generated, goes to standard error.</summary>
    public ILogger CreateLogger() => new StandardErrorLogger(Error);

    sealed class StandardErrorLogger(TextWriter error) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                error.WriteLine(formatter(state, exception));
        }
    }
}

/// <summary>A mistake in how a command was used; the message says what to do instead.</summary>
sealed class CliException(string message) : Exception(message);

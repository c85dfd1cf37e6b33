using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Seq.Tests.Security;

/// <summary>Keeps every message written to it, rendered, so that a test can look for warnings and for leaked secrets.</summary>
sealed class RecordingLogger : ILogger
{
    readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Message)> Entries => [.. _entries];

    public string Text => string.Join('\n', _entries.Select(e => e.Message));

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, $"{formatter(state, exception)} {exception}"));
}

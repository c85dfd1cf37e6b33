using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Seq.Tests.Support;

/// <summary>Keeps every message written to it, rendered with its exception, so that a test can count warnings and look for leaked secrets.</summary>
class RecordingLogger : ILogger
{
    readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Message)> Entries => [.. _entries];

    public int Warnings => _entries.Count(e => e.Level == LogLevel.Warning);

    public string Text => string.Join('\n', _entries.Select(e => e.Message));

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, $"{formatter(state, exception)} {exception}"));
}

/// <summary>A <see cref="RecordingLogger"/> for components that take an <see cref="ILogger{T}"/>.</summary>
sealed class RecordingLogger<T> : RecordingLogger, ILogger<T>;

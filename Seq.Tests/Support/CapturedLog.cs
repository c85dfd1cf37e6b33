using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace Seq.Tests.Support;

/// <summary>Every log event a test server wrote, rendered with its properties and exception, for scanning.</summary>
public sealed class CapturedLog : ILogEventSink
{
    readonly ConcurrentQueue<string> _lines = new();

    public void Emit(LogEvent logEvent)
    {
        var properties = string.Join(" ", logEvent.Properties.Select(p => $"{p.Key}={p.Value}"));
        _lines.Enqueue($"{logEvent.RenderMessage()} {properties} {logEvent.Exception}");
    }

    public string Text => string.Join('\n', _lines);
}

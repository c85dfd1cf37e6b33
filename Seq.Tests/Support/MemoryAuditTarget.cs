using System.Text;
using Seq.Infrastructure.Auditing;

namespace Seq.Tests.Support;

/// <summary>An audit target that takes every line at once, as durable, and keeps its text without the newline.</summary>
public sealed class MemoryAuditTarget : IAuditTarget
{
    public List<string> Lines { get; } = [];
    public string Description => "memory";
    public AuditTargetState State => AuditTargetState.Available;
    public string? Problem => null;
    public string? Refusal => null;
    public long QueuedLines => 0;
    public long QueuedBytes => 0;
    public long DurableLines => Lines.Count;

    public Task Enqueue(byte[] line, bool blocking)
    {
        Lines.Add(Encoding.UTF8.GetString(line).TrimEnd('\n'));
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

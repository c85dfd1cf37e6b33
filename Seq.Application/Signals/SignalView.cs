using Seq.Application.Auditing;
using Seq.Domain.Signals;

namespace Seq.Application.Signals;

/// <summary>A signal as callers and the search see it.</summary>
public sealed record SignalView(string Id, string? OwnerId, SignalDefinition Definition) : IAuditedResult
{
    public IEnumerable<KeyValuePair<string, object?>> AuditProperties => [new("SignalId", Id)];
}

using System.Globalization;
using System.Text;

namespace Seq.Application.Diagnostics;

/// <summary>
/// Recent ingestion warnings (a payload refused, an event dropped), as Seq's ingestion log shows them: one line each,
/// starting with its UTC timestamp. Only the last <see cref="Capacity"/> are kept; this is a help for someone looking
/// at a misbehaving client now, not a record (the audit log is that).
/// </summary>
public sealed class IngestionLog(TimeProvider clock)
{
    public const int Capacity = 500;

    readonly Queue<string> _lines = new();
    readonly Lock _sync = new();

    public void Warn(string message) => Append("WRN", message);

    public void Error(string message) => Append("ERR", message);

    /// <summary>The kept lines, oldest first, each ending with a newline.</summary>
    public string Text()
    {
        lock (_sync)
        {
            var text = new StringBuilder();
            foreach (var line in _lines)
                text.Append(line).Append('\n');
            return text.ToString();
        }
    }

    void Append(string level, string message)
    {
        // One entry is one line: a client's text must not forge further entries.
        var flat = string.Concat(message.Select(c => char.IsControl(c) ? ' ' : c));
        var line = string.Create(CultureInfo.InvariantCulture, $"{clock.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ} [{level}] {flat}");
        lock (_sync)
        {
            _lines.Enqueue(line);
            while (_lines.Count > Capacity)
                _lines.Dequeue();
        }
    }
}

using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Seq.Infrastructure.Backups;

/// <summary>One line of a backup's content.</summary>
public abstract record BackupRecord;

/// <summary>A row of the streams table: any stream, of any type, so that a new kind of aggregate is backed up without being named here.</summary>
public sealed record BackupStreamRecord(string Id, string Type, long Version, DateTimeOffset Created, DateTimeOffset Updated, bool IsArchived) : BackupRecord;

/// <summary>One event as stored; <see cref="Data"/> and <see cref="Metadata"/> are its JSON, unchanged.</summary>
public sealed record BackupEventRecord(string StreamId, long Version, Guid EventId, string Type, string Data, string Metadata, DateTimeOffset Created) : BackupRecord;

/// <summary>
/// The content of a backup before compression: newline-delimited JSON, a first line naming the format, every stream,
/// then every event in global feed order, then a last line with the counts (docs/backup-format.md).
/// </summary>
public sealed class BackupContentWriter : IDisposable
{
    readonly Stream _output;

    public BackupContentWriter(Stream output)
    {
        _output = output;
        _json = new Utf8JsonWriter(_line, new JsonWriterOptions { SkipValidation = true });
    }

    public const string Format = "seq-metadata";
    public const int Version = 1;

    // Into a buffer, not the output: Utf8JsonWriter.Flush flushes its stream, and a compressor flushed at every line
    // ends a block there, which costs most of the compression and much of the speed.
    readonly ArrayBufferWriter<byte> _line = new(4096);
    readonly Utf8JsonWriter _json;
    bool _started;

    public long Streams { get; private set; }
    public long Events { get; private set; }

    public void Write(BackupStreamRecord stream)
    {
        Start();
        _json.WriteStartObject();
        _json.WriteString("Kind", "Stream");
        _json.WriteString("Id", stream.Id);
        _json.WriteString("Type", stream.Type);
        _json.WriteNumber("Version", stream.Version);
        _json.WriteString("Created", stream.Created);
        _json.WriteString("Updated", stream.Updated);
        _json.WriteBoolean("IsArchived", stream.IsArchived);
        _json.WriteEndObject();
        EndLine();
        Streams++;
    }

    public void Write(BackupEventRecord @event)
    {
        Start();
        _json.WriteStartObject();
        _json.WriteString("Kind", "Event");
        _json.WriteString("Stream", @event.StreamId);
        _json.WriteNumber("Version", @event.Version);
        _json.WriteString("Id", @event.EventId);
        _json.WriteString("Type", @event.Type);
        _json.WriteString("Created", @event.Created);
        _json.WritePropertyName("Data");
        _json.WriteRawValue(@event.Data, skipInputValidation: true);
        _json.WritePropertyName("Metadata");
        _json.WriteRawValue(@event.Metadata, skipInputValidation: true);
        _json.WriteEndObject();
        EndLine();
        Events++;
    }

    /// <summary>The last line, with the counts a reader checks.</summary>
    public void Complete()
    {
        Start();
        _json.WriteStartObject();
        _json.WriteString("Kind", "End");
        _json.WriteNumber("Streams", Streams);
        _json.WriteNumber("Events", Events);
        _json.WriteEndObject();
        EndLine();
    }

    void Start()
    {
        if (_started)
            return;
        _started = true;
        _json.WriteStartObject();
        _json.WriteString("Kind", "Start");
        _json.WriteString("Format", Format);
        _json.WriteNumber("Version", Version);
        _json.WriteEndObject();
        EndLine();
    }

    void EndLine()
    {
        _json.Flush();
        _output.Write(_line.WrittenSpan);
        _output.WriteByte((byte)'\n');
        _line.ResetWrittenCount();
        _json.Reset(_line);
    }

    public void Dispose() => _json.Dispose();
}

/// <summary>Reads what <see cref="BackupContentWriter"/> wrote, one record at a time; the end line's counts must match.</summary>
public sealed class BackupContentReader(Stream input, string fileName) : IDisposable
{
    readonly StreamReader _reader = new(input, new UTF8Encoding(false, true), detectEncodingFromByteOrderMarks: false, bufferSize: 64 * 1024);
    bool _started;
    bool _ended;
    long _streams;
    long _events;

    /// <summary>The next stream or event; null after the end line.</summary>
    /// <exception cref="BackupFileException">The content is not what a backup holds.</exception>
    public BackupRecord? Read()
    {
        try
        {
            return ReadNext();
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Invalid("a line of its content lacks what it needs");
        }
    }

    BackupRecord? ReadNext()
    {
        while (true)
        {
            if (_ended)
                return null;
            var line = _reader.ReadLine() ?? throw Invalid("its content ends before its end line");
            using var document = Parse(line);
            var root = document.RootElement;
            var kind = root.GetProperty("Kind").GetString();
            switch (kind)
            {
                case "Start" when !_started:
                    if (root.GetProperty("Format").GetString() != BackupContentWriter.Format || root.GetProperty("Version").GetInt32() != BackupContentWriter.Version)
                        throw Invalid("its content is in a format this server does not know");
                    _started = true;
                    continue;
                case "Stream" when _started && _events == 0:
                    _streams++;
                    return new BackupStreamRecord(root.GetProperty("Id").GetString()!, root.GetProperty("Type").GetString()!, root.GetProperty("Version").GetInt64(),
                        root.GetProperty("Created").GetDateTimeOffset(), root.GetProperty("Updated").GetDateTimeOffset(), root.GetProperty("IsArchived").GetBoolean());
                case "Event" when _started:
                    _events++;
                    return new BackupEventRecord(root.GetProperty("Stream").GetString()!, root.GetProperty("Version").GetInt64(), root.GetProperty("Id").GetGuid(),
                        root.GetProperty("Type").GetString()!, root.GetProperty("Data").GetRawText(), root.GetProperty("Metadata").GetRawText(),
                        root.GetProperty("Created").GetDateTimeOffset());
                case "End" when _started:
                    if (root.GetProperty("Streams").GetInt64() != _streams || root.GetProperty("Events").GetInt64() != _events)
                        throw Invalid("its content does not hold as many streams and events as its end line says");
                    if (_reader.ReadLine() is not null)
                        throw Invalid("its content goes on after its end line");
                    _ended = true;
                    return null;
                default:
                    throw Invalid("its content is out of order");
            }
        }
    }

    public long Streams => _streams;
    public long Events => _events;

    JsonDocument Parse(string line)
    {
        try
        {
            return JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
            throw Invalid("its content is not valid");
        }
    }

    BackupFileException Invalid(string what) => new($"{fileName} cannot be restored: {what}.");

    public void Dispose() => _reader.Dispose();
}

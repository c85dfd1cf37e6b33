using System.Collections.Concurrent;
using Npgsql;
using NpgsqlTypes;
using Seq.Application.Events;

namespace Seq.Infrastructure.Events;

/// <summary>
/// Writes a batch with one binary COPY (one transaction), after making sure the day partitions it needs exist.
/// The days known to exist are remembered; retention may drop one meanwhile, and a COPY that finds no partition for
/// a row forgets them and tries once more.
/// </summary>
public sealed class PostgresLogEventWriter(NpgsqlDataSource dataSource) : ILogEventWriter
{
    internal const string CopyCommand = """
        COPY log_events (timestamp, level, message_template, rendered_message, exception, event_type, trace_id, span_id,
                         parent_span_id, span_start, span_kind, renderings, properties) FROM STDIN (FORMAT BINARY)
        """;

    readonly ConcurrentDictionary<DateOnly, bool> _partitions = new();

    public async Task WriteAsync(IReadOnlyList<LogEvent> events, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await WriteAsync(connection, events, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.CheckViolation && e.ConstraintName is null)
        {
            // "no partition of relation found for row": a partition this node thought existed was dropped.
            _partitions.Clear();
            await WriteAsync(connection, events, cancellationToken);
        }
    }

    async Task WriteAsync(NpgsqlConnection connection, IReadOnlyList<LogEvent> events, CancellationToken cancellationToken)
    {
        foreach (var day in events.Select(e => DateOnly.FromDateTime(e.Timestamp.UtcDateTime)).Distinct())
        {
            if (_partitions.ContainsKey(day))
                continue;
            await using var create = new NpgsqlCommand("SELECT seq_log_event_partition($1)", connection);
            create.Parameters.Add(new NpgsqlParameter { Value = day });
            try
            {
                await create.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateTable)
            {
                // Another request made it first: the function's check after its advisory lock reads the catalog
                // cache, which the lock does not refresh, so it can miss a table committed while it waited.
            }
            _partitions[day] = true;
        }

        await CopyAsync(connection, events, cancellationToken);
    }

    /// <summary>
    /// One COPY statement, which PostgreSQL runs as a transaction of its own: all rows or none, committed when it
    /// completes. No explicit transaction around it, which would cost a round trip for its COMMIT (ADR 0041).
    /// </summary>
    internal static async Task CopyAsync(NpgsqlConnection connection, IReadOnlyList<LogEvent> events, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync(CopyCommand, cancellationToken);
        foreach (var e in events)
            await WriteRowAsync(copy, e, cancellationToken);
        await copy.CompleteAsync(cancellationToken);
    }

    internal static async Task WriteRowAsync(NpgsqlBinaryImporter copy, LogEvent e, CancellationToken cancellationToken)
    {
        await copy.StartRowAsync(cancellationToken);
        await copy.WriteAsync(e.Timestamp, NpgsqlDbType.TimestampTz, cancellationToken);
        await copy.WriteAsync(e.Level, NpgsqlDbType.Text, cancellationToken);
        await WriteTextAsync(copy, e.MessageTemplate, cancellationToken);
        await WriteTextAsync(copy, e.RenderedMessage, cancellationToken);
        await WriteTextAsync(copy, e.Exception, cancellationToken);
        if (e.EventType is { } type)
            await copy.WriteAsync((long)type, NpgsqlDbType.Bigint, cancellationToken);
        else
            await copy.WriteNullAsync(cancellationToken);
        await WriteTextAsync(copy, e.TraceId, cancellationToken);
        await WriteTextAsync(copy, e.SpanId, cancellationToken);
        await WriteTextAsync(copy, e.ParentSpanId, cancellationToken);
        if (e.SpanStart is { } start)
            await copy.WriteAsync(start, NpgsqlDbType.TimestampTz, cancellationToken);
        else
            await copy.WriteNullAsync(cancellationToken);
        await WriteTextAsync(copy, e.SpanKind, cancellationToken);
        if (e.Renderings is { } renderings)
            await copy.WriteAsync(renderings, NpgsqlDbType.Jsonb, cancellationToken);
        else
            await copy.WriteNullAsync(cancellationToken);
        await copy.WriteAsync(e.PropertiesJson, NpgsqlDbType.Jsonb, cancellationToken);
    }

    static Task WriteTextAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken cancellationToken) =>
        value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);
}

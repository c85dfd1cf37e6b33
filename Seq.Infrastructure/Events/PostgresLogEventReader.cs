using Npgsql;
using Seq.Application.Events;
using Seq.Application.Filtering;

namespace Seq.Infrastructure.Events;

/// <summary>Searches stored log events newest first; the filters come translated to SQL over the alias <c>e</c>.</summary>
public sealed class PostgresLogEventReader(NpgsqlDataSource dataSource) : ILogEventReader
{
    const string Columns = """
        e.timestamp, e.id, e.level, e.message_template, e.rendered_message, e.exception, e.event_type, e.trace_id, e.span_id,
        e.parent_span_id, e.span_start, e.span_kind, e.renderings::text, e.properties::text
        """;

    public async Task<IReadOnlyList<StoredLogEvent>> SearchAsync(LogEventQuery query, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var where = new List<string>();
        if (query.From is { } from)
            where.Add($"e.timestamp >= {Parameter(command, from)}");
        if (query.To is { } to)
            where.Add($"e.timestamp < {Parameter(command, to)}");
        if (query.AfterId is not null)
        {
            if (!LogEventIds.TryParse(query.AfterId, out var afterTimestamp, out var afterId))
                throw new ArgumentException("afterId is not an event id.");
            where.Add($"(e.timestamp, e.id) < ({Parameter(command, afterTimestamp)}, {Parameter(command, afterId)})");
        }
        if (query.StartAtId is not null)
        {
            if (!LogEventIds.TryParse(query.StartAtId, out var startTimestamp, out var startId))
                throw new ArgumentException("startAtId is not an event id.");
            where.Add($"(e.timestamp, e.id) <= ({Parameter(command, startTimestamp)}, {Parameter(command, startId)})");
        }
        foreach (var filter in query.Filters)
            where.Add("(" + FilterSql.Translate(filter, command) + ")");

        command.CommandText = $"""
            SELECT {Columns} FROM log_events e
            {(where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where))}
            ORDER BY e.timestamp DESC, e.id DESC
            LIMIT {Parameter(command, query.Count)}
            """;
        return await ReadAsync(command, cancellationToken);
    }

    public bool IsEventId(string id) => LogEventIds.TryParse(id, out _, out _);

    public async Task<StoredLogEvent?> FindAsync(string id, IReadOnlyList<FilterExpression> filters, CancellationToken cancellationToken)
    {
        if (!LogEventIds.TryParse(id, out var timestamp, out var number))
            return null;
        await using var command = dataSource.CreateCommand();
        var where = new List<string> { $"e.timestamp = {Parameter(command, timestamp)}", $"e.id = {Parameter(command, number)}" };
        foreach (var filter in filters)
            where.Add("(" + FilterSql.Translate(filter, command) + ")");
        command.CommandText = $"SELECT {Columns} FROM log_events e WHERE {string.Join(" AND ", where)}";
        return (await ReadAsync(command, cancellationToken)).SingleOrDefault();
    }

    static string Parameter(NpgsqlCommand command, object value)
    {
        // Named, as the filter's translation names its own: Npgsql does not mix named and positional parameters.
        var name = "event_" + command.Parameters.Count;
        command.Parameters.Add(new NpgsqlParameter(name, value));
        return "@" + name;
    }

    static async Task<List<StoredLogEvent>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var events = new List<StoredLogEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var timestamp = new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero);
            var e = new LogEvent(
                timestamp, reader.GetString(2), Text(reader, 3), Text(reader, 4), Text(reader, 5),
                reader.IsDBNull(6) ? null : (uint)reader.GetInt64(6),
                Text(reader, 7), Text(reader, 8), Text(reader, 9),
                reader.IsDBNull(10) ? null : new DateTimeOffset(reader.GetFieldValue<DateTime>(10), TimeSpan.Zero),
                Text(reader, 11), Text(reader, 12), reader.GetString(13));
            events.Add(new StoredLogEvent(LogEventIds.Format(timestamp, reader.GetInt64(1)), e));
        }
        return events;
    }

    static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}

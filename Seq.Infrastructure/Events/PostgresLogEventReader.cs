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

    /// <summary>
    /// Newest first, in at most two steps, so that the plan does not hang on the planner's estimate of how common a
    /// property value is (a sample of about a hundred values: a 1% value is often estimated as absent). First the
    /// newest <see cref="Budget"/> events of the window are read by the primary key and filtered: a common match fills
    /// the page there and stops early. Only when it does not (the matches are sparse) is the whole window searched,
    /// with plain index scans off when a filter is a containment, so that the properties index (ADR 0042) is read.
    /// </summary>
    public async Task<IReadOnlyList<StoredLogEvent>> SearchAsync(LogEventQuery query, CancellationToken cancellationToken)
    {
        if (query.Filters.Count == 0)
            return await SearchAsync(query, budget: null, cancellationToken);
        var newest = await SearchAsync(query, Budget(query.Count), cancellationToken);
        return newest.Count >= query.Count ? newest : await SearchAsync(query, budget: null, cancellationToken);
    }

    static int Budget(int count) => Math.Clamp(count * 200, 10_000, 200_000);

    async Task<IReadOnlyList<StoredLogEvent>> SearchAsync(LogEventQuery query, int? budget, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var window = new List<string>();
        if (query.From is { } from)
            window.Add($"e.timestamp >= {Parameter(command, from)}");
        if (query.To is { } to)
            window.Add($"e.timestamp < {Parameter(command, to)}");
        if (query.AfterId is not null)
        {
            if (!LogEventIds.TryParse(query.AfterId, out var afterTimestamp, out var afterId))
                throw new ArgumentException("afterId is not an event id.");
            window.Add($"(e.timestamp, e.id) < ({Parameter(command, afterTimestamp)}, {Parameter(command, afterId)})");
        }
        if (query.StartAtId is not null)
        {
            if (!LogEventIds.TryParse(query.StartAtId, out var startTimestamp, out var startId))
                throw new ArgumentException("startAtId is not an event id.");
            window.Add($"(e.timestamp, e.id) <= ({Parameter(command, startTimestamp)}, {Parameter(command, startId)})");
        }
        var filters = query.Filters.Select(filter => "(" + FilterSql.Translate(filter, command) + ")").ToList();

        const string Order = "ORDER BY e.timestamp DESC, e.id DESC";
        static string Where(IEnumerable<string> conditions) => conditions.Any() ? "WHERE " + string.Join(" AND ", conditions) : "";
        command.CommandText = budget is { } rows
            ? $"""
              SELECT {Columns} FROM (SELECT * FROM log_events e {Where(window)} {Order} LIMIT {Parameter(command, rows)}) e
              {Where(filters)} {Order} LIMIT {Parameter(command, query.Count)}
              """
            : $"SELECT {Columns} FROM log_events e {Where(window.Concat(filters))} {Order} LIMIT {Parameter(command, query.Count)}";

        if (budget is not null || !filters.Any(f => f.Contains("e.properties @>", StringComparison.Ordinal)))
            return await ReadAsync(command, cancellationToken);

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var bitmap = new NpgsqlCommand("SET LOCAL enable_indexscan = off", connection, transaction))
            await bitmap.ExecuteNonQueryAsync(cancellationToken);
        command.Transaction = transaction;
        var found = await ReadAsync(command, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return found;
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

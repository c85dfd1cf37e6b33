using Npgsql;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// The rows of the read-model tables while a rebuild replays the events: projections' row operations applied in
/// memory, with what the statements of an append would do (an insert of a key already there fails, an update or
/// delete of a missing row does nothing), then written with one COPY per table.
/// </summary>
sealed class ReadModelRows
{
    readonly Dictionary<ReadModelTable, Dictionary<object, object?[]>> _tables = [];

    public IEnumerable<ReadModelTable> Tables => _tables.Keys;

    public long Count => _tables.Values.Sum(t => (long)t.Count);

    Dictionary<object, object?[]> RowsOf(ReadModelTable table)
    {
        if (!_tables.TryGetValue(table, out var rows))
            _tables[table] = rows = [];
        return rows;
    }

    static object KeyOf(ReadModelTable table, object? key) =>
        key ?? throw new InvalidOperationException($"A row of {table.Name} has no value for its key {table.Key.Name}.");

    public void Insert(ReadModelTable table, object?[] row)
    {
        if (!RowsOf(table).TryAdd(KeyOf(table, row[0]), (object?[])row.Clone()))
            throw new InvalidOperationException($"The rebuild inserts a second row of {table.Name} with {table.Key.Name} {row[0]}.");
    }

    public void Upsert(ReadModelTable table, object?[] row) => RowsOf(table)[KeyOf(table, row[0])] = (object?[])row.Clone();

    public void Update(ReadModelTable table, object key, int[] ordinals, object?[] values)
    {
        if (!RowsOf(table).TryGetValue(key, out var row))
            return;
        for (var i = 0; i < ordinals.Length; i++)
            row[ordinals[i]] = values[i];
    }

    public void Delete(ReadModelTable table, object key) => RowsOf(table).Remove(key);

    /// <summary>Writes every table's rows, one binary COPY per table; the tables must be empty.</summary>
    public async Task CopyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        foreach (var (table, rows) in _tables)
        {
            await using var import = await connection.BeginBinaryImportAsync(table.CopySql, cancellationToken);
            foreach (var row in rows.Values)
            {
                await import.StartRowAsync(cancellationToken);
                for (var i = 0; i < row.Length; i++)
                {
                    if (row[i] is null)
                        await import.WriteNullAsync(cancellationToken);
                    else
                        await import.WriteAsync(row[i], table.Columns[i].Type, cancellationToken);
                }
            }
            await import.CompleteAsync(cancellationToken);
        }
    }
}

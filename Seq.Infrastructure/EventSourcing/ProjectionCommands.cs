using Npgsql;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// What an inline projection does for one event. The row operations (<see cref="Insert"/>, <see cref="Upsert"/>,
/// <see cref="Update"/>, <see cref="Delete"/>) are the read model's definition: an append turns each into one
/// statement of its batch, and a rebuild (<see cref="ProjectionRebuild"/>) applies the same operations, in feed order,
/// to rows in memory and writes the outcome with COPY (ADR 0043). <see cref="Add"/> is a statement of the projection's
/// own; a rebuild runs those in feed order too, one by one, so a projection that writes its tables with them rebuilds
/// correctly, only slower. <see cref="Notify"/> is sent once per transaction.
/// </summary>
public sealed class ProjectionCommands
{
    readonly NpgsqlBatch _batch;
    readonly ReadModelRows? _rows;
    readonly HashSet<string> _notified = new(StringComparer.Ordinal);

    /// <summary>For an append: every operation becomes a statement of <paramref name="batch"/>.</summary>
    public ProjectionCommands(NpgsqlBatch batch) => _batch = batch;

    /// <summary>For a rebuild: row operations go to <paramref name="rows"/>, statements of the projection's own to <paramref name="batch"/>.</summary>
    internal ProjectionCommands(NpgsqlBatch batch, ReadModelRows rows) => (_batch, _rows) = (batch, rows);

    /// <summary>The channels notified; a rebuild notifies each once, when it is done.</summary>
    internal IReadOnlyCollection<string> Notified => _notified;

    /// <summary>Adds a statement with positional parameters ($1, $2 …) taking <paramref name="values"/> in order.</summary>
    public void Add(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        _batch.BatchCommands.Add(command);
    }

    /// <summary>A new row: a value for every column of <paramref name="table"/>, in its order. A row with the same key already there is an error.</summary>
    public void Insert(ReadModelTable table, params object?[] row)
    {
        CheckRow(table, row);
        if (_rows is not null)
            _rows.Insert(table, row);
        else
            AddTyped(table.InsertSql, table.Columns, row);
    }

    /// <summary>The row with this key, inserted or replaced whole.</summary>
    public void Upsert(ReadModelTable table, params object?[] row)
    {
        CheckRow(table, row);
        if (_rows is not null)
            _rows.Upsert(table, row);
        else
            AddTyped(table.UpsertSql, table.Columns, row);
    }

    /// <summary>Changes these columns of the row with this key; no such row, no change.</summary>
    public void Update(ReadModelTable table, object key, params (string Column, object? Value)[] changes)
    {
        if (changes.Length == 0)
            return;
        var ordinals = changes.Select(c => table.Ordinal(c.Column)).ToArray();
        if (_rows is not null)
        {
            _rows.Update(table, key, ordinals, [.. changes.Select(c => c.Value)]);
            return;
        }
        AddTyped(table.UpdateSql(changes), [table.Key, .. ordinals.Select(o => table.Columns[o])], [key, .. changes.Select(c => c.Value)]);
    }

    /// <summary>Removes the row with this key, if there is one.</summary>
    public void Delete(ReadModelTable table, object key)
    {
        if (_rows is not null)
            _rows.Delete(table, key);
        else
            AddTyped(table.DeleteSql, [table.Key], [key]);
    }

    /// <summary>A PostgreSQL notification on <paramref name="channel"/>, delivered when the transaction commits.</summary>
    public void Notify(string channel)
    {
        if (!_notified.Add(channel) || _rows is not null)
            return;
        Add("SELECT pg_notify($1, '')", channel);
    }

    static void CheckRow(ReadModelTable table, object?[] row)
    {
        if (row.Length != table.Columns.Count)
            throw new ArgumentException($"A row of {table.Name} has {table.Columns.Count} values, not {row.Length}.");
    }

    void AddTyped(string sql, IReadOnlyList<ReadModelColumn> columns, object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        for (var i = 0; i < values.Length; i++)
            command.Parameters.Add(new NpgsqlParameter { Value = values[i] ?? DBNull.Value, NpgsqlDbType = columns[i].Type });
        _batch.BatchCommands.Add(command);
    }
}

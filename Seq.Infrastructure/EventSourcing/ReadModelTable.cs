using System.Collections.Concurrent;
using NpgsqlTypes;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>A column of a read-model table and its PostgreSQL type.</summary>
public sealed record ReadModelColumn(string Name, NpgsqlDbType Type);

/// <summary>
/// A read-model table as a projection's row operations (<see cref="ProjectionCommands.Insert"/>, <c>Upsert</c>,
/// <c>Update</c>, <c>Delete</c>) see it: its name and every column with its type, the first column being the primary
/// key. An append turns each operation into one statement; a rebuild applies the same operations to rows in memory
/// and writes the result with one COPY per table (ADR 0043), so the read model has one definition.
/// </summary>
public sealed class ReadModelTable
{
    readonly Dictionary<string, int> _ordinals;
    readonly ConcurrentDictionary<string, string> _updates = new(StringComparer.Ordinal);

    public ReadModelTable(string name, params ReadModelColumn[] columns)
    {
        if (columns.Length == 0)
            throw new ArgumentException("A read-model table has at least its key column.", nameof(columns));
        Name = name;
        Columns = columns;
        _ordinals = columns.Select((c, i) => (c.Name, i)).ToDictionary(c => c.Name, c => c.i, StringComparer.Ordinal);
        var names = string.Join(", ", columns.Select(c => c.Name));
        var parameters = string.Join(", ", columns.Select((_, i) => $"${i + 1}"));
        InsertSql = $"INSERT INTO {name} ({names}) VALUES ({parameters})";
        UpsertSql = columns.Length == 1
            ? $"{InsertSql} ON CONFLICT ({Key.Name}) DO NOTHING"
            : $"{InsertSql} ON CONFLICT ({Key.Name}) DO UPDATE SET {string.Join(", ", columns.Skip(1).Select(c => $"{c.Name} = excluded.{c.Name}"))}";
        DeleteSql = $"DELETE FROM {name} WHERE {Key.Name} = $1";
        CopySql = $"COPY {name} ({names}) FROM STDIN (FORMAT BINARY)";
    }

    public string Name { get; }
    public IReadOnlyList<ReadModelColumn> Columns { get; }
    public ReadModelColumn Key => Columns[0];

    internal string InsertSql { get; }
    internal string UpsertSql { get; }
    internal string DeleteSql { get; }
    internal string CopySql { get; }

    /// <exception cref="ArgumentException">The table has no such column.</exception>
    internal int Ordinal(string column) =>
        _ordinals.TryGetValue(column, out var ordinal) ? ordinal : throw new ArgumentException($"The read-model table {Name} has no column {column}.");

    /// <summary>The UPDATE of these columns by key, built once per set of columns (so statements stay few and preparable).</summary>
    internal string UpdateSql((string Column, object? Value)[] changes)
    {
        var shape = string.Join(",", changes.Select(c => c.Column));
        return _updates.GetOrAdd(shape, _ =>
        {
            var columns = shape.Split(',');
            var sets = string.Join(", ", columns.Select((c, i) => $"{Columns[Ordinal(c)].Name} = ${i + 2}"));
            return $"UPDATE {Name} SET {sets} WHERE {Key.Name} = $1";
        });
    }
}

using Npgsql;

namespace Seq.Infrastructure.EventSourcing;

/// <summary>The statements an inline projection contributes to an append.</summary>
public sealed class ProjectionCommands(NpgsqlBatch batch)
{
    /// <summary>Adds a statement with positional parameters ($1, $2 …) taking <paramref name="values"/> in order.</summary>
    public void Add(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        batch.BatchCommands.Add(command);
    }
}

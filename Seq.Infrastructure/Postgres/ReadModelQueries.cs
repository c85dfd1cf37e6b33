using Npgsql;

namespace Seq.Infrastructure.Postgres;

/// <summary>How the read models query their tables: one statement with at most one text parameter, each row mapped to a view.</summary>
static class ReadModelQueries
{
    public static async Task<List<T>> QueryAsync<T>(
        this NpgsqlDataSource dataSource, string sql, string? argument, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        if (argument is not null)
            command.Parameters.Add(new NpgsqlParameter { Value = argument });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(read(reader));
        return rows;
    }
}

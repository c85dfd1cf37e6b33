using System.Text.Json;
using Npgsql;
using Seq.Application.Users;
using Seq.Domain.Users;
using Seq.Infrastructure.Postgres;

namespace Seq.Infrastructure.Users;

sealed class UserReadModel(NpgsqlDataSource dataSource) : IUserReadModel
{
    const string Columns = "id, username, display_name, email_address, role_ids, view_filter::text, must_change_password";

    public async Task<IReadOnlyList<UserView>> ListAsync(CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {Columns} FROM users ORDER BY lower(username)", null, cancellationToken);

    public async Task<UserView?> FindAsync(string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {Columns} FROM users WHERE id = $1", id, cancellationToken)).SingleOrDefault();

    public async Task<UserView?> FindByUsernameAsync(string username, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {Columns} FROM users WHERE lower(username) = lower($1)", username, cancellationToken)).SingleOrDefault();

    public async Task<UserCredentials?> FindCredentialsAsync(string username, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id, password_hash, must_change_password, password_version FROM users WHERE lower(username) = lower($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = username });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new UserCredentials(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.GetInt32(3))
            : null;
    }

    Task<List<UserView>> QueryAsync(string sql, string? argument, CancellationToken cancellationToken) =>
        dataSource.QueryAsync(sql, argument, Read, cancellationToken);

    static UserView Read(NpgsqlDataReader reader) =>
        new(
            reader.GetString(0), reader.GetString(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.GetFieldValue<string[]>(4),
            reader.IsDBNull(5) ? null : JsonSerializer.Deserialize<DescriptiveFilter>(reader.GetString(5)),
            reader.GetBoolean(6));
}

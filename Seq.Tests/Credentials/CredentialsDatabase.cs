using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Infrastructure;
using Seq.Infrastructure.EventSourcing;
using Seq.Tests.Support;

namespace Seq.Tests.Credentials;

/// <summary>One migrated database for a test class; each test uses keys and users of its own in it.</summary>
public sealed class CredentialsDatabase : IAsyncLifetime
{
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public string ConnectionString { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await TestPostgres.CreateDatabaseAsync("creds");
        DataSource = DependencyInjection.CreateDataSource(ConnectionString);
        await new SchemaMigrator(DataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();

    public async Task<T?> ScalarAsync<T>(string sql, params object[] values)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        var result = await command.ExecuteScalarAsync();
        return result is null or DBNull ? default : (T)result;
    }
}

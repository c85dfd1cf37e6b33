using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Application.Pipeline;
using Seq.Infrastructure;
using Seq.Infrastructure.EventSourcing;

namespace Seq.Tests.Support;

/// <summary>An event store on a fresh database of the shared test cluster, with the test counter projection.</summary>
public sealed class TestEventStore : IAsyncDisposable
{
    TestEventStore(string connectionString, NpgsqlDataSource dataSource, OperationContext operation)
    {
        ConnectionString = connectionString;
        DataSource = dataSource;
        Operation = operation;
        Serializer = new EventSerializer(EventTypeRegistry.ForDomain(typeof(TestEventStore).Assembly));
        Store = new PostgresEventStore(dataSource, Serializer, [new CounterTotalsProjection()], operation, TimeProvider.System, []);
        Feed = new GlobalFeed(dataSource, Serializer);
    }

    /// <summary>The database's connection string, with its password (a data source's own leaves it out).</summary>
    public string ConnectionString { get; }
    public NpgsqlDataSource DataSource { get; }
    public OperationContext Operation { get; }
    public EventSerializer Serializer { get; }
    public PostgresEventStore Store { get; }
    public GlobalFeed Feed { get; }

    public static async Task<TestEventStore> CreateAsync()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("es");
        var dataSource = DependencyInjection.CreateDataSource(connectionString);
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);
        await using (var create = dataSource.CreateCommand(CounterTotalsProjection.CreateTable))
            await create.ExecuteNonQueryAsync();
        return new TestEventStore(connectionString, dataSource, new OperationContext());
    }

    public async Task<T?> ScalarAsync<T>(string sql, params object[] values)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        var result = await command.ExecuteScalarAsync();
        return result is null or DBNull ? default : (T)result;
    }

    public Task<long?> CounterTotalAsync(string counterId) =>
        ScalarAsync<long?>("SELECT total FROM test_counter_totals WHERE counter_id = $1", counterId);

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}

using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Marten.Events.Projections;

namespace Seq.Benchmarks;

/// <summary>The read model of <see cref="BenchTotalsProjection"/> as a Marten document: one per stream, its total and number of updates.</summary>
public sealed class BenchTotal
{
    public string Id { get; set; } = "";
    public long Total { get; set; }
    public long Updates { get; set; }
}

/// <summary>Marten's idiomatic inline projection of that read model: a single-stream aggregate stored as a document.</summary>
// Partial: Marten 9 generates the Apply dispatcher at compile time, with no runtime fallback.
public sealed partial class BenchTotalDocumentProjection : SingleStreamProjection<BenchTotal, string>
{
    public void Apply(BenchCounterIncremented e, BenchTotal total)
    {
        total.Total += e.Amount;
        total.Updates++;
    }
}

/// <summary>The same upsert <see cref="BenchTotalsProjection"/> runs, queued by Marten into its batch: the closest Marten gets to our projection.</summary>
public sealed partial class BenchTotalsSqlProjection : EventProjection
{
    public const string Table = "bench_totals_marten";
    public const string CreateTable = $"CREATE TABLE IF NOT EXISTS {Table} (counter_id text PRIMARY KEY, total bigint NOT NULL, updates bigint NOT NULL)";

    public void Project(BenchCounterIncremented e, IDocumentOperations operations) =>
        operations.QueueSqlCommand(
            $"INSERT INTO {Table} (counter_id, total, updates) VALUES (?, ?, 1) ON CONFLICT (counter_id) DO UPDATE SET total = {Table}.total + excluded.total, updates = {Table}.updates + 1",
            e.CounterId, (long)e.Amount);
}

/// <summary>One Marten configuration measured as a peer: its own schema, append mode and inline projection.</summary>
sealed class MartenPeer : IAsyncDisposable
{
    public enum Projection { Document, SqlUpsert }

    MartenPeer(string name, string schema, DocumentStore store)
    {
        Name = name;
        Schema = schema;
        Store = store;
    }

    public string Name { get; }
    public string Schema { get; }
    public DocumentStore Store { get; }

    public static MartenPeer Create(string name, string connectionString, string schema, EventAppendMode mode, Projection projection) =>
        new(name, schema, DocumentStore.For(options =>
        {
            options.Connection(connectionString);
            options.DatabaseSchemaName = schema;
            options.Events.DatabaseSchemaName = schema;
            options.Events.StreamIdentity = StreamIdentity.AsString;
            options.Events.AppendMode = mode;
            options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
            options.Events.AddEventType<BenchCounterIncremented>();
            if (projection == Projection.Document)
                options.Projections.Add<BenchTotalDocumentProjection>(ProjectionLifecycle.Inline);
            else
                options.Projections.Add(new BenchTotalsSqlProjection(), ProjectionLifecycle.Inline);
        }));

    public Task ApplySchemaAsync() => Store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

    /// <summary>One event, with the stream's expected version (0: a new stream); returns the new version.</summary>
    public async Task<long> AppendAsync(string stream, long version, BenchCounterIncremented e)
    {
        await using var session = Store.LightweightSession();
        if (version == 0)
            session.Events.StartStream<BenchTotal>(stream, e);
        else
            // Marten's expected version is the stream's version after the append.
            session.Events.Append(stream, version + 1, e);
        await session.SaveChangesAsync();
        return version + 1;
    }

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}

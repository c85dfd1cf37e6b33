using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Domain;

namespace Seq.Infrastructure.EventSourcing;

public sealed class PostgresEventStore(
    NpgsqlDataSource dataSource,
    EventSerializer serializer,
    IEnumerable<IInlineProjection> projections,
    OperationContext operation,
    TimeProvider clock,
    IEnumerable<IAppendObserver> observers,
    ILogger<PostgresEventStore>? logger = null) : IEventStore
{
    const string ConcurrencySqlState = "SQ409";
    readonly IInlineProjection[] _projections = [.. projections];
    readonly IAppendObserver[] _observers = [.. observers];
    readonly ILogger _logger = logger ?? NullLogger<PostgresEventStore>.Instance;

    public async Task<Loaded<T>> LoadAsync<T>(string streamId, CancellationToken cancellationToken) where T : IEventSourced, new()
    {
        await using var command = dataSource.CreateCommand("SELECT version, type, data::text FROM events WHERE stream_id = $1 ORDER BY version");
        command.Parameters.Add(new NpgsqlParameter { Value = streamId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);

        var aggregate = new T();
        var version = 0L;
        while (await reader.ReadAsync(cancellationToken))
        {
            version = reader.GetInt64(0);
            aggregate.Apply(serializer.Deserialize(reader.GetString(1), reader.GetString(2)));
        }
        return new Loaded<T>(aggregate, version);
    }

    public async Task<long> AppendAsync(string streamId, string streamType, long expectedVersion, IReadOnlyList<IDomainEvent> events, CancellationToken cancellationToken)
    {
        long version;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
            version = await AppendAsync(connection, null, streamId, streamType, expectedVersion, events, cancellationToken);

        await NotifyObserversAsync(events, streamId);
        return version;
    }

    public async Task AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken)
    {
        if (appends.Count == 0)
            throw new ArgumentException("An append needs at least one stream.", nameof(appends));
        if (appends.Select(a => a.StreamId).Distinct(StringComparer.Ordinal).Count() != appends.Count)
            throw new ArgumentException("Each stream may appear only once in an append.", nameof(appends));

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            // Still one round trip: the batch is one implicit transaction, so a failure in any stream's part
            // (a lost race, a projection's unique rule, a fault) rolls back every other part with it.
            await using var batch = new NpgsqlBatch(connection);
            foreach (var append in appends)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(append.ExpectedVersion);
                if (append.Events.Count == 0)
                    throw new ArgumentException($"The append to {append.StreamId} has no events.", nameof(appends));
                AddAppend(batch, append.StreamId, append.StreamType, append.ExpectedVersion, append.Events);
            }

            await ExecuteAppendAsync(batch, commitsHere: true, async () =>
            {
                var lost = await FirstMovedStreamAsync(connection, appends, CancellationToken.None);
                return new ConcurrencyException(lost.StreamId, lost.ExpectedVersion);
            }, cancellationToken);
        }

        await NotifyObserversAsync([.. appends.SelectMany(a => a.Events)], string.Join(", ", appends.Select(a => a.StreamId)));
    }

    // The change has committed: nothing after this point may turn it into an error for the caller, or the caller
    // would be told it failed (and, for a new API key, lose the token) when it succeeded.
    async Task NotifyObserversAsync(IReadOnlyList<IDomainEvent> events, string streams)
    {
        foreach (var observer in _observers)
        {
            try
            {
                await observer.AfterCommitAsync(events, CancellationToken.None);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "{AppendObserver} failed after an append to {StreamId} had committed; the change stands", observer.GetType().Name, streams);
            }
        }
    }

    // The error does not say which statement of the batch failed, so the stream that moved is found by looking.
    static async Task<StreamAppend> FirstMovedStreamAsync(NpgsqlConnection connection, IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT stream_id, version FROM streams WHERE stream_id = ANY($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = appends.Select(a => a.StreamId).ToArray() });
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                versions[reader.GetString(0)] = reader.GetInt64(1);
        }
        return appends.FirstOrDefault(a => versions.GetValueOrDefault(a.StreamId) != a.ExpectedVersion) ?? appends[0];
    }

    /// <summary>
    /// Appends within the caller's transaction, for work that must commit together with the events (such as an
    /// asynchronous consumer's checkpoint). Without a transaction the batch is its own implicit transaction.
    /// </summary>
    public async Task<long> AppendAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction,
        string streamId, string streamType, long expectedVersion, IReadOnlyList<IDomainEvent> events,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        if (events.Count == 0)
            throw new ArgumentException("An append needs at least one event.", nameof(events));

        await using var batch = BuildAppend(connection, transaction, streamId, streamType, expectedVersion, events);
        await ExecuteAppendAsync(batch, commitsHere: transaction is null,
            () => Task.FromResult(new ConcurrencyException(streamId, expectedVersion)), cancellationToken);
        return expectedVersion + events.Count;
    }

    /// <summary>
    /// Prepares and sends an append batch. Its statements stay prepared on the physical connection, so only their
    /// first use there costs a round trip of its own and later ones skip parsing and planning (about 30% of an
    /// append's throughput, docs/benchmarks.md). The data source prepares nothing automatically, because Npgsql's
    /// automatic preparation, made in the same round trip as an execution, is left broken when that execution is
    /// refused at Bind (ADR 0014); an explicit preparation is complete before any Bind is sent. A batch that commits
    /// on its own (<paramref name="commitsHere"/>, no caller's transaction) may commit once sent, so from then on the
    /// request's cancellation is not listened to and the operation's effect is recorded, so the outcome is known.
    /// </summary>
    async Task ExecuteAppendAsync(NpgsqlBatch batch, bool commitsHere, Func<Task<ConcurrencyException>> lostRace, CancellationToken cancellationToken)
    {
        await batch.PrepareAsync(cancellationToken);
        if (commitsHere)
            cancellationToken.ThrowIfCancellationRequested();
        var before = commitsHere ? operation.AppendSending() : operation.Effect;
        try
        {
            await batch.ExecuteNonQueryAsync(commitsHere ? CancellationToken.None : cancellationToken);
        }
        catch (PostgresException e) when (e.InvariantSeverity == "ERROR")
        {
            // The server refused the batch, and a refused batch rolls back whole. (A FATAL one ends the connection
            // and may come after the commit, so it leaves the outcome unknown.)
            if (commitsHere)
                operation.AppendRolledBack(before);
            if (IsConcurrencyConflict(e))
                throw await lostRace();
            // Any other unique constraint belongs to an inline projection guarding a rule such as unique names.
            if (e.SqlState == PostgresErrorCodes.UniqueViolation)
                throw new UniquenessConflictException();
            throw;
        }
        if (commitsHere)
            operation.AppendCommitted();
    }

    NpgsqlBatch BuildAppend(NpgsqlConnection connection, NpgsqlTransaction? transaction, string streamId, string streamType, long expectedVersion, IReadOnlyList<IDomainEvent> events)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        AddAppend(batch, streamId, streamType, expectedVersion, events);
        return batch;
    }

    /// <summary>Adds one stream's append and its inline projections to the batch.</summary>
    void AddAppend(NpgsqlBatch batch, string streamId, string streamType, long expectedVersion, IReadOnlyList<IDomainEvent> events)
    {
        var metadata = new EventMetadata(operation.CorrelationId, operation.CausationId, operation.Principal.Name, operation.Principal.Id, operation.AuditOperationId);
        var metadataJson = serializer.Serialize(metadata);
        var now = clock.GetUtcNow();

        var ids = new Guid[events.Count];
        var types = new string[events.Count];
        var data = new string[events.Count];
        var metadatas = new string[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            ids[i] = Guid.CreateVersion7(now);
            types[i] = serializer.Types.NameOf(events[i].GetType());
            data[i] = serializer.Serialize(events[i]);
            metadatas[i] = metadataJson;
        }

        var append = new NpgsqlBatchCommand(expectedVersion == 0 ? AppendToNewStream : AppendToExistingStream);
        append.Parameters.Add(new NpgsqlParameter { Value = streamId, NpgsqlDbType = NpgsqlDbType.Text });
        append.Parameters.Add(new NpgsqlParameter { Value = expectedVersion, NpgsqlDbType = NpgsqlDbType.Bigint });
        append.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        append.Parameters.Add(new NpgsqlParameter { Value = types, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        append.Parameters.Add(new NpgsqlParameter { Value = data, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        append.Parameters.Add(new NpgsqlParameter { Value = metadatas, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        if (expectedVersion == 0)
            append.Parameters.Add(new NpgsqlParameter { Value = streamType, NpgsqlDbType = NpgsqlDbType.Text });
        batch.BatchCommands.Add(append);

        if (_projections.Length == 0)
            return;

        var commands = new ProjectionCommands(batch);
        for (var i = 0; i < events.Count; i++)
        {
            var pending = new PendingEvent(streamId, expectedVersion + i + 1, ids[i], events[i], metadata, now);
            foreach (var projection in _projections)
            {
                if (projection.Handles(pending.Data.GetType()))
                    projection.Project(pending, commands);
            }
        }
    }

    // Both statements settle the stream row before any event row exists, so a writer that loses draws no
    // sequence value: a new stream's INSERT fails on streams_pkey; an existing stream's UPDATE matches no row,
    // and then the join below has to evaluate seq_stream_conflict, which raises, before it can yield a row.
    const string AppendToNewStream = """
        WITH stream AS (
            INSERT INTO streams (stream_id, type, version) VALUES ($1, $7, $2 + cardinality($3))
            RETURNING stream_id)
        INSERT INTO events (stream_id, version, event_id, type, data, metadata)
        SELECT stream.stream_id, $2 + e.ordinal, e.event_id, e.type, e.data, e.metadata
        FROM stream, unnest($3, $4, $5, $6) WITH ORDINALITY AS e (event_id, type, data, metadata, ordinal)
        """;

    const string AppendToExistingStream = """
        WITH stream AS (
            UPDATE streams SET version = $2 + cardinality($3), updated = now()
            WHERE stream_id = $1 AND version = $2
            RETURNING stream_id),
        checked AS (
            SELECT stream_id FROM stream
            UNION ALL
            SELECT seq_stream_conflict($1, $2) WHERE NOT EXISTS (SELECT FROM stream))
        INSERT INTO events (stream_id, version, event_id, type, data, metadata)
        SELECT checked.stream_id, $2 + e.ordinal, e.event_id, e.type, e.data, e.metadata
        FROM checked, unnest($3, $4, $5, $6) WITH ORDINALITY AS e (event_id, type, data, metadata, ordinal)
        """;

    static bool IsConcurrencyConflict(PostgresException e) =>
        e.SqlState == ConcurrencySqlState
        || e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName is "streams_pkey" or "events_pkey";
}

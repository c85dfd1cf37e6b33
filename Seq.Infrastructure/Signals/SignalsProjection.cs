using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using Seq.Application.Signals;
using Seq.Domain.Signals;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Postgres;

namespace Seq.Infrastructure.Signals;

sealed class SignalsProjection : IInlineProjection
{
    public IReadOnlyList<string> Tables => ["signals"];

    public bool Handles(Type eventType) =>
        eventType == typeof(SignalCreated) || eventType == typeof(SignalChanged) || eventType == typeof(SignalRemoved);

    /// <summary>The signals table, as the row operations below write it.</summary>
    public static readonly ReadModelTable Signals = new("signals",
        new("id", NpgsqlDbType.Text), new("owner_id", NpgsqlDbType.Text), new("definition", NpgsqlDbType.Jsonb), new("updated", NpgsqlDbType.TimestampTz));

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        switch (@event.Data)
        {
            case SignalCreated e:
                commands.Insert(Signals, e.SignalId, e.OwnerId, SignalDefinitionJson.Serialize(e.Definition), e.CreatedAt);
                break;
            case SignalChanged e:
                commands.Update(Signals, e.SignalId, ("definition", SignalDefinitionJson.Serialize(e.Definition)), ("updated", e.ChangedAt));
                break;
            case SignalRemoved e:
                commands.Delete(Signals, e.SignalId);
                break;
        }
    }
}

static class SignalDefinitionJson
{
    static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General) { Converters = { new JsonStringEnumConverter() } };

    public static string Serialize(SignalDefinition definition) => JsonSerializer.Serialize(definition, Options);

    public static SignalDefinition Deserialize(string json) =>
        JsonSerializer.Deserialize<SignalDefinition>(json, Options) ?? throw new InvalidDataException("A stored signal definition is null.");
}

sealed class SignalsReadModel(NpgsqlDataSource dataSource) : ISignalsReadModel
{
    public async Task<SignalView?> GetAsync(string id, CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT id, owner_id, definition::text FROM signals WHERE id = $1", id, cancellationToken)).SingleOrDefault();

    public async Task<IReadOnlyList<SignalView>> ListAsync(CancellationToken cancellationToken) =>
        await QueryAsync("SELECT id, owner_id, definition::text FROM signals ORDER BY definition->>'Title', id", null, cancellationToken);

    Task<List<SignalView>> QueryAsync(string sql, string? argument, CancellationToken cancellationToken) =>
        dataSource.QueryAsync(sql, argument, Read, cancellationToken);

    static SignalView Read(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), SignalDefinitionJson.Deserialize(reader.GetString(2)));
}

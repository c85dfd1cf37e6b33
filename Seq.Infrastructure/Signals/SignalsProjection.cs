using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
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

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        switch (@event.Data)
        {
            case SignalCreated e:
                commands.Add("INSERT INTO signals (id, owner_id, definition, updated) VALUES ($1, $2, $3::jsonb, $4)",
                    e.SignalId, e.OwnerId, SignalDefinitionJson.Serialize(e.Definition), e.CreatedAt);
                break;
            case SignalChanged e:
                commands.Add("UPDATE signals SET definition = $2::jsonb, updated = $3 WHERE id = $1", e.SignalId, SignalDefinitionJson.Serialize(e.Definition), e.ChangedAt);
                break;
            case SignalRemoved e:
                commands.Add("DELETE FROM signals WHERE id = $1", e.SignalId);
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

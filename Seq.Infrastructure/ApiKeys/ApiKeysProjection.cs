using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Seq.Application.ApiKeys;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Infrastructure.Postgres;

namespace Seq.Infrastructure.ApiKeys;

sealed class ApiKeysProjection : IInlineProjection
{
    public IReadOnlyList<string> Tables => ["api_keys"];

    public bool Handles(Type eventType) => Projects(eventType);

    /// <summary>The events that change the api_keys table (and so the <see cref="SecurityDirectory"/>).</summary>
    public static bool Projects(Type eventType) =>
        eventType == typeof(ApiKeyCreated) || eventType == typeof(ApiKeyChanged) || eventType == typeof(ApiKeyDeleted);

    /// <summary>The api_keys table, as the row operations below write it.</summary>
    public static readonly ReadModelTable ApiKeys = new("api_keys",
        new("id", NpgsqlDbType.Text), new("title", NpgsqlDbType.Text), new("token_prefix", NpgsqlDbType.Text),
        new("token_salt", NpgsqlDbType.Bytea), new("token_hash", NpgsqlDbType.Bytea), new("assigned_permissions", NpgsqlDbType.Array | NpgsqlDbType.Text),
        new("owner_id", NpgsqlDbType.Text), new("input_settings", NpgsqlDbType.Jsonb), new("created", NpgsqlDbType.TimestampTz),
        new("updated", NpgsqlDbType.TimestampTz));

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        switch (@event.Data)
        {
            case ApiKeyCreated e:
                commands.Insert(ApiKeys, e.ApiKeyId, e.Title, e.TokenPrefix, e.TokenSalt, e.TokenHash, Names(e.AssignedPermissions), e.OwnerId,
                    ApiKeyInputSettingsJson.Serialize(e.InputSettings), e.CreatedAt, e.CreatedAt);
                break;
            case ApiKeyChanged e:
                commands.Update(ApiKeys, e.ApiKeyId, ("title", e.Title), ("assigned_permissions", Names(e.AssignedPermissions)),
                    ("input_settings", ApiKeyInputSettingsJson.Serialize(e.InputSettings)), ("updated", e.ChangedAt));
                break;
            case ApiKeyDeleted e:
                commands.Delete(ApiKeys, e.ApiKeyId);
                break;
            default:
                return;
        }

        // Every node listens on this channel and reloads the keys it authenticates against. The notification is
        // delivered only when the change commits, so a node that hears it and reloads always sees the change. An
        // API key append carries one event; should one ever carry more, PostgreSQL delivers identical
        // notifications of one transaction only once.
        SecurityDirectory.NotifyChange(commands);
    }

    static string[] Names(IEnumerable<Permission> permissions) => [.. permissions.Select(p => p.ToString())];
}

/// <summary>The input_settings column: Seq's InputSettings shape, in PascalCase.</summary>
static class ApiKeyInputSettingsJson
{
    static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General);

    public static string Serialize(InputSettings settings) => JsonSerializer.Serialize(settings, Options);

    public static InputSettings Deserialize(string json) => JsonSerializer.Deserialize<InputSettings>(json, Options) ?? InputSettings.None;
}

sealed class ApiKeyReadModel(NpgsqlDataSource dataSource) : IApiKeyReadModel
{
    // The salt and hash stay out of views; only authentication reads them.
    const string Columns = "id, title, token_prefix, assigned_permissions, owner_id, input_settings::text";

    public async Task<IReadOnlyList<ApiKeyView>> ListAsync(CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {Columns} FROM api_keys ORDER BY title, id", null, cancellationToken);

    public async Task<ApiKeyView?> FindAsync(string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {Columns} FROM api_keys WHERE id = $1", id, cancellationToken)).SingleOrDefault();

    Task<List<ApiKeyView>> QueryAsync(string sql, string? argument, CancellationToken cancellationToken) =>
        dataSource.QueryAsync(sql, argument, Read, cancellationToken);

    static ApiKeyView Read(NpgsqlDataReader reader)
    {
        var permissions = reader.GetFieldValue<string[]>(3).Select(Enum.Parse<Permission>).Order().ToList();
        return new ApiKeyView(reader.GetString(0), reader.GetString(1), reader.GetString(2), permissions,
            reader.IsDBNull(4) ? null : reader.GetString(4), ApiKeyInputSettingsJson.Deserialize(reader.GetString(5)));
    }
}

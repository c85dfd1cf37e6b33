using Npgsql;
using NpgsqlTypes;
using Seq.Application.Settings;
using Seq.Domain.Settings;
using Seq.Infrastructure.EventSourcing;

namespace Seq.Infrastructure.Settings;

sealed class SettingsProjection : IInlineProjection
{
    public IReadOnlyList<string> Tables => ["settings"];

    public bool Handles(Type eventType) => eventType == typeof(SettingChanged);

    /// <summary>The settings table, as the row operation below writes it.</summary>
    public static readonly ReadModelTable Settings = new("settings",
        new("name", NpgsqlDbType.Text), new("value", NpgsqlDbType.Text), new("updated", NpgsqlDbType.TimestampTz));

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        var changed = (SettingChanged)@event.Data;
        commands.Upsert(Settings, changed.Name, changed.Value, changed.ChangedAt);
    }
}

sealed class SettingsReadModel(NpgsqlDataSource dataSource) : ISettingsReadModel
{
    public async Task<IReadOnlyDictionary<string, string>> GetChangedValuesAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT name, value FROM settings");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
            values[reader.GetString(0)] = reader.GetString(1);
        return values;
    }
}

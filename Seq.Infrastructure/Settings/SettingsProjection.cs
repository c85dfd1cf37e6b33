using Npgsql;
using Seq.Application.Settings;
using Seq.Domain.Settings;
using Seq.Infrastructure.EventSourcing;

namespace Seq.Infrastructure.Settings;

sealed class SettingsProjection : IInlineProjection
{
    public IReadOnlyList<string> Tables => ["settings"];

    public bool Handles(Type eventType) => eventType == typeof(SettingChanged);

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        var changed = (SettingChanged)@event.Data;
        commands.Add("""
            INSERT INTO settings (name, value, updated) VALUES ($1, $2, $3)
            ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated
            """, changed.Name, changed.Value, changed.ChangedAt);
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

using Npgsql;
using NpgsqlTypes;
using Seq.Application.Feeds;
using Seq.Domain.Feeds;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Postgres;

namespace Seq.Infrastructure.Feeds;

sealed class NuGetFeedsProjection : IInlineProjection
{
    public IReadOnlyList<string> Tables => ["nuget_feeds"];

    public bool Handles(Type eventType) =>
        eventType == typeof(NuGetFeedCreated) || eventType == typeof(NuGetFeedChanged)
        || eventType == typeof(NuGetFeedPasswordChanged) || eventType == typeof(NuGetFeedDeleted);

    /// <summary>The nuget_feeds table, as the row operations below write it.</summary>
    public static readonly ReadModelTable Feeds = new("nuget_feeds",
        new("id", NpgsqlDbType.Text), new("name", NpgsqlDbType.Text), new("location", NpgsqlDbType.Text), new("username", NpgsqlDbType.Text),
        new("protected_password", NpgsqlDbType.Text), new("updated", NpgsqlDbType.TimestampTz));

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        switch (@event.Data)
        {
            case NuGetFeedCreated e:
                commands.Insert(Feeds, e.FeedId, e.Name, e.Location, e.Username, e.ProtectedPassword, e.CreatedAt);
                break;
            case NuGetFeedChanged e:
                commands.Update(Feeds, e.FeedId, ("name", e.Name), ("location", e.Location), ("username", e.Username), ("updated", e.ChangedAt));
                break;
            case NuGetFeedPasswordChanged e:
                commands.Update(Feeds, e.FeedId, ("protected_password", e.ProtectedPassword), ("updated", e.ChangedAt));
                break;
            case NuGetFeedDeleted e:
                commands.Delete(Feeds, e.FeedId);
                break;
        }
    }
}

sealed class NuGetFeedReadModel(NpgsqlDataSource dataSource) : INuGetFeedReadModel
{
    const string Columns = "id, name, location, username, protected_password IS NOT NULL";

    public async Task<IReadOnlyList<NuGetFeedView>> ListAsync(CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {Columns} FROM nuget_feeds ORDER BY name", null, cancellationToken);

    public async Task<NuGetFeedView?> FindAsync(string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {Columns} FROM nuget_feeds WHERE id = $1", id, cancellationToken)).SingleOrDefault();

    public async Task<NuGetFeedView?> FindByNameAsync(string name, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {Columns} FROM nuget_feeds WHERE lower(name) = lower($1)", name, cancellationToken)).FirstOrDefault();

    Task<List<NuGetFeedView>> QueryAsync(string sql, string? argument, CancellationToken cancellationToken) =>
        dataSource.QueryAsync(sql, argument, Read, cancellationToken);

    static NuGetFeedView Read(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetBoolean(4));
}

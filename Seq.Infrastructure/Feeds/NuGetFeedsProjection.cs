using Npgsql;
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

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        switch (@event.Data)
        {
            case NuGetFeedCreated e:
                commands.Add("""
                    INSERT INTO nuget_feeds (id, name, location, username, protected_password, updated)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    """, e.FeedId, e.Name, e.Location, e.Username, e.ProtectedPassword, e.CreatedAt);
                break;
            case NuGetFeedChanged e:
                commands.Add("UPDATE nuget_feeds SET name = $2, location = $3, username = $4, updated = $5 WHERE id = $1",
                    e.FeedId, e.Name, e.Location, e.Username, e.ChangedAt);
                break;
            case NuGetFeedPasswordChanged e:
                commands.Add("UPDATE nuget_feeds SET protected_password = $2, updated = $3 WHERE id = $1", e.FeedId, e.ProtectedPassword, e.ChangedAt);
                break;
            case NuGetFeedDeleted e:
                commands.Add("DELETE FROM nuget_feeds WHERE id = $1", e.FeedId);
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

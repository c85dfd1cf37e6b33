using System.Text.Json;
using NpgsqlTypes;
using Seq.Domain.Users;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Users;

sealed class UsersProjection : IInlineProjection
{
    public IReadOnlyList<string> Tables => ["users"];

    public bool Handles(Type eventType) => Projects(eventType);

    /// <summary>The events that change the users table (and so the <see cref="Security.SecurityDirectory"/>).</summary>
    public static bool Projects(Type eventType) =>
        eventType == typeof(UserCreated) || eventType == typeof(UserChanged)
        || eventType == typeof(UserPasswordChanged) || eventType == typeof(UserDeleted);

    /// <summary>The users table, as the row operations below write it.</summary>
    public static readonly ReadModelTable Users = new("users",
        new("id", NpgsqlDbType.Text), new("username", NpgsqlDbType.Text), new("display_name", NpgsqlDbType.Text),
        new("email_address", NpgsqlDbType.Text), new("role_ids", NpgsqlDbType.Array | NpgsqlDbType.Text), new("view_filter", NpgsqlDbType.Jsonb),
        new("password_hash", NpgsqlDbType.Text), new("must_change_password", NpgsqlDbType.Boolean), new("password_version", NpgsqlDbType.Integer),
        new("updated", NpgsqlDbType.TimestampTz));

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        switch (@event.Data)
        {
            case UserCreated e:
                commands.Insert(Users, e.UserId, e.Username, e.DisplayName, e.EmailAddress, e.RoleIds.ToArray(), Json(e.ViewFilter), e.PasswordHash,
                    e.MustChangePassword, 1, e.CreatedAt);
                break;
            case UserChanged e:
                commands.Update(Users, e.UserId, ("username", e.Username), ("display_name", e.DisplayName), ("email_address", e.EmailAddress),
                    ("role_ids", e.RoleIds.ToArray()), ("view_filter", Json(e.ViewFilter)), ("must_change_password", e.MustChangePassword), ("updated", e.ChangedAt));
                break;
            case UserPasswordChanged e:
                commands.Update(Users, e.UserId, ("password_hash", e.PasswordHash), ("must_change_password", e.MustChangePassword),
                    ("password_version", e.PasswordVersion), ("updated", e.ChangedAt));
                break;
            case UserDeleted e:
                commands.Delete(Users, e.UserId);
                commands.Add("DELETE FROM user_sessions WHERE user_id = $1", e.UserId);
                break;
            default:
                return;
        }
        // Delivered at commit, to every node: each reloads its directory of users and keys.
        SecurityDirectory.NotifyChange(commands);
    }

    static string? Json(DescriptiveFilter? filter) => filter is null ? null : JsonSerializer.Serialize(filter);
}

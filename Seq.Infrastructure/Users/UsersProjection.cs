using System.Text.Json;
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

    public void Project(PendingEvent @event, ProjectionCommands commands)
    {
        switch (@event.Data)
        {
            case UserCreated e:
                commands.Add("""
                    INSERT INTO users (id, username, display_name, email_address, role_ids, view_filter, password_hash, must_change_password, password_version, updated)
                    VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, 1, $9)
                    """, e.UserId, e.Username, e.DisplayName, e.EmailAddress, e.RoleIds.ToArray(), Json(e.ViewFilter), e.PasswordHash, e.MustChangePassword, e.CreatedAt);
                break;
            case UserChanged e:
                commands.Add("""
                    UPDATE users SET username = $2, display_name = $3, email_address = $4, role_ids = $5, view_filter = $6::jsonb, must_change_password = $7, updated = $8
                    WHERE id = $1
                    """, e.UserId, e.Username, e.DisplayName, e.EmailAddress, e.RoleIds.ToArray(), Json(e.ViewFilter), e.MustChangePassword, e.ChangedAt);
                break;
            case UserPasswordChanged e:
                commands.Add("UPDATE users SET password_hash = $2, must_change_password = $3, password_version = $4, updated = $5 WHERE id = $1",
                    e.UserId, e.PasswordHash, e.MustChangePassword, e.PasswordVersion, e.ChangedAt);
                break;
            case UserDeleted e:
                commands.Add("DELETE FROM users WHERE id = $1", e.UserId);
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

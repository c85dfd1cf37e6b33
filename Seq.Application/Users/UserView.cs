using Seq.Application.Auditing;
using Seq.Domain.Users;

namespace Seq.Application.Users;

public sealed record UserView(
    string Id, string Username, string? DisplayName, string? EmailAddress, IReadOnlyList<string> RoleIds,
    DescriptiveFilter? ViewFilter, bool MustChangePassword) : IAuditedResult
{
    public IEnumerable<KeyValuePair<string, object?>> AuditProperties => [new("UserId", Id)];

    public static UserView Of(User user) =>
        new(user.Id, user.Username, user.DisplayName, user.EmailAddress, user.RoleIds, user.ViewFilter, user.MustChangePassword);
}

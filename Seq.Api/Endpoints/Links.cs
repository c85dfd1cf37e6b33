namespace Seq.Api.Endpoints;

/// <summary>
/// The links of an entity. Seq clients follow <c>Self</c> to update or delete an entity, and post a new one to its
/// template's <c>Create</c> link (or the group's <c>Items</c>), so a template never has a <c>Self</c>.
/// </summary>
static class Links
{
    public static Dictionary<string, string> Self(string path) => new() { ["Self"] = path };

    public static Dictionary<string, string> Create(string path) => new() { ["Create"] = path };
}

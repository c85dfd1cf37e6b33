namespace Seq.Domain;

/// <summary>
/// The one shape of every aggregate's stream id (ADR 0047): <c>{category}/{aggregate id}</c>, the category naming the
/// kind of aggregate in the plural and in lower case, and <c>{category}/instance</c> for an aggregate of which an
/// instance has exactly one. The aggregate id is the one the API shows, so a stream can be found from an entity.
/// </summary>
public static class StreamIds
{
    /// <summary>The aggregate id of an aggregate of which there is one per instance.</summary>
    public const string Instance = "instance";

    public static string For(string category, string aggregateId) => category + "/" + aggregateId;
}

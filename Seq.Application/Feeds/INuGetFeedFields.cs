namespace Seq.Application.Feeds;

/// <summary>The fields a request sets on a feed.</summary>
public interface INuGetFeedFields : Seq.Application.Pipeline.IMayCarryUnsupportedFields
{
    string? Name { get; }
    string? Location { get; }
    string? Username { get; }
    string? Password { get; }
}

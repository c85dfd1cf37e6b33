using Seq.Application.Pipeline;

namespace Seq.Application.ApiKeys;

/// <summary>The fields a request sets on a key, as the request gives them: validation refuses what is not a key's field.</summary>
public interface IApiKeyFields : IMayCarryUnsupportedFields
{
    string? Title { get; }
    IReadOnlyList<RequestedPermission>? Permissions { get; }
    RequestedInputSettings? Input { get; }

}

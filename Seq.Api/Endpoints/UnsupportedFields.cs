using System.Text.Json;

namespace Seq.Api.Endpoints;

/// <summary>
/// The fields of a request body that the endpoint's body type does not declare. Seq's clients send whole entities
/// back, including what the server sent them (<c>Links</c>, read-only fields, and anything unknown to the client,
/// which it keeps and echoes); those are ignored. Anything else with a value is reported, so that validation can
/// refuse it rather than silently drop it.
/// </summary>
static class UnsupportedFields
{
    public static IReadOnlyList<string> Of(IDictionary<string, JsonElement>? extra, params string[] echoed) =>
        extra is null ? [] :
        [
            .. extra.Where(p => !p.Key.Equals("Links", StringComparison.OrdinalIgnoreCase)
                                && !echoed.Contains(p.Key, StringComparer.OrdinalIgnoreCase)
                                && !IsEmpty(p.Value))
                .Select(p => p.Key)
                .Order(StringComparer.Ordinal),
        ];

    // The values a Seq client sends for a field it did not set: its type's default.
    static bool IsEmpty(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False => true,
        JsonValueKind.String => value.GetString()!.Length == 0,
        JsonValueKind.Number => value.TryGetDecimal(out var number) && number == 0,
        JsonValueKind.Array => value.GetArrayLength() == 0,
        JsonValueKind.Object => value.EnumerateObject().All(p => IsEmpty(p.Value)),
        _ => false,
    };
}

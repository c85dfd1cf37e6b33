using System.Text.Json;
using System.Text.Json.Serialization;

namespace Seq.Api.Hosting;

/// <summary>
/// Binds a body value kept as a <see cref="JsonElement"/> (a setting's or an applied property's <c>Value</c>) and
/// refuses it when a string or property name in it is not valid Unicode, such as an unpaired surrogate escape
/// (<c>"\ud800"</c>). The serializer refuses those when it binds a <see cref="string"/>, but an element is decoded
/// only when a handler reads it, after binding, where the failure is an <see cref="InvalidOperationException"/> (a 500).
/// </summary>
sealed class WellFormedJsonElementConverter : JsonConverter<JsonElement>
{
    public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var element = JsonElement.ParseValue(ref reader);
        try
        {
            EnsureDecodable(element);
        }
        catch (InvalidOperationException e)
        {
            throw new JsonException("The JSON text contains a string that is not valid Unicode.", e);
        }
        return element;
    }

    public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options) => value.WriteTo(writer);

    // Depth is bounded by the reader's MaxDepth, which refused deeper input before this runs.
    static void EnsureDecodable(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                _ = element.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    EnsureDecodable(item);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    EnsureDecodable(property.Value);
                }
                break;
        }
    }
}

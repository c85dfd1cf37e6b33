using System.Text.Json;
using Seq.Api.Hosting;

namespace Seq.Tests.Hosting;

/// <summary>
/// The converter that binds a body's free-form <see cref="JsonElement"/> values directly (HostileInputTests sends the
/// same values through every endpoint, where validators behind the converter may refuse them too): an unpaired
/// surrogate anywhere in the element, however deep, is refused while binding; well-formed values bind as they were.
/// </summary>
public sealed class WellFormedJsonElementConverterTests
{
    sealed record Body(JsonElement Value);

    static readonly JsonSerializerOptions Options = new() { Converters = { new WellFormedJsonElementConverter() } };

    [Theory]
    [InlineData("\"\\ud800\"")]
    [InlineData("[\"ok\", \"\\udfff\"]")]
    [InlineData("[[1, [\"a\\udbffb\"]]]")]
    [InlineData("{\"\\ud800\": 1}")]
    [InlineData("{\"a\": \"\\udc00\\ud800\"}")]
    [InlineData("{\"a\": {\"b\": [{\"c\": \"\\ud800\"}]}}")]
    public void A_value_with_an_unpaired_surrogate_anywhere_in_it_is_refused_while_binding(string value)
    {
        var refused = Should.Throw<JsonException>(() => JsonSerializer.Deserialize<Body>($"{{\"Value\": {value}}}", Options));

        refused.Message.ShouldBe("The JSON text contains a string that is not valid Unicode.");
        refused.InnerException.ShouldBeOfType<InvalidOperationException>();
    }

    [Theory]
    [InlineData("\"text \\ud83d\\ude00\"")]
    [InlineData("[1, \"two\", [true, null]]")]
    [InlineData("{\"a\": {\"b\": [\"c\", 1.5]}, \"\\u00e9\": \"x\"}")]
    [InlineData("42")]
    public void A_well_formed_value_binds_as_it_was_written(string value)
    {
        var body = JsonSerializer.Deserialize<Body>($"{{\"Value\": {value}}}", Options)!;

        body.Value.GetRawText().ShouldBe(value);
        JsonSerializer.Serialize(body, Options).ShouldBe($"{{\"Value\":{JsonSerializer.Serialize(JsonDocument.Parse(value).RootElement)}}}");
    }
}

using Seq.Tests.Support;

namespace Seq.Tests.Compatibility;

public sealed class UriTemplateTests
{
    static readonly Dictionary<string, object?> Rfc = new()
    {
        ["var"] = "value", ["hello"] = "Hello World!", ["path"] = "/foo/bar", ["empty"] = "", ["x"] = "1024", ["y"] = "768",
        ["list"] = new[] { "red", "green", "blue" },
        ["keys"] = new Dictionary<string, string> { ["semi"] = ";", ["dot"] = ".", ["comma"] = "," },
    };

    [Theory]
    [InlineData("{var}", "value")]
    [InlineData("{hello}", "Hello%20World%21")]
    [InlineData("{+path}/here", "/foo/bar/here")]
    [InlineData("{#path}", "#/foo/bar")]
    [InlineData("X{.var}", "X.value")]
    [InlineData("{/var,x}/here", "/value/1024/here")]
    [InlineData("{;x,y,empty}", ";x=1024;y=768;empty")]
    [InlineData("{?x,y,empty}", "?x=1024&y=768&empty=")]
    [InlineData("?fixed=yes{&x}", "?fixed=yes&x=1024")]
    [InlineData("{var:3}", "val")]
    [InlineData("{?list}", "?list=red,green,blue")]
    [InlineData("{?list*}", "?list=red&list=green&list=blue")]
    [InlineData("{keys}", "semi,%3B,dot,.,comma,%2C")]
    [InlineData("{?keys*}", "?semi=%3B&dot=.&comma=%2C")]
    [InlineData("{?undef,x}", "?x=1024")]
    public void It_expands_the_examples_of_RFC_6570(string template, string expected)
    {
        var declared = UriTemplate.ParameterNames(template);
        UriTemplate.Expand(template, Rfc.Where(p => declared.Contains(p.Key)).ToDictionary()).ShouldBe(expected);
    }

    [Fact]
    public void It_writes_values_as_the_Seq_client_does_and_leaves_out_nulls()
    {
        UriTemplate.Expand("api/apikeys{?ownerId,shared}", new Dictionary<string, object?> { ["ownerId"] = null, ["shared"] = false })
            .ShouldBe("api/apikeys?shared=False");
        UriTemplate.Expand("api/apikeys{?ownerId,shared}", new Dictionary<string, object?> { ["ownerId"] = "user-1 2", ["shared"] = true })
            .ShouldBe("api/apikeys?ownerId=user-1%202&shared=True");
        UriTemplate.Expand("api/apikeys{?ownerId,shared}").ShouldBe("api/apikeys");
        UriTemplate.Expand("e{?from}", new Dictionary<string, object?> { ["from"] = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc) })
            .ShouldBe("e?from=2026-01-02T03%3A04%3A05.0000000Z");
    }

    [Fact]
    public void A_parameter_the_template_does_not_declare_is_an_error_as_in_the_Seq_client()
    {
        var error = Should.Throw<ArgumentException>(() => UriTemplate.Expand("api/apikeys", new Dictionary<string, object?> { ["shared"] = true }));
        error.Message.ShouldContain("shared");
    }

    [Theory]
    [InlineData("api/{id")]
    [InlineData("api/id}")]
    [InlineData("api/{}")]
    [InlineData("api/{a b}")]
    [InlineData("api/{=x}")]
    public void A_malformed_template_is_refused(string template) =>
        Should.Throw<FormatException>(() => UriTemplate.ParameterNames(template));
}

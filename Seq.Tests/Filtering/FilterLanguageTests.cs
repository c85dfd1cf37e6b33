using System.Text.Json;
using Seq.Application.Filtering;

namespace Seq.Tests.Filtering;

public sealed class FilterLanguageTests
{
    static FilterEvent Event(string properties = "{}", string? level = "Information", string? message = "User bob logged in", string? exception = null, uint? eventType = null) =>
        new(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero), level, "User {Name} logged in", message, exception, eventType, "trace1", "span1",
            JsonDocument.Parse(properties).RootElement);

    static bool Matches(string filter, FilterEvent e) => FilterEvaluator.Matches(FilterParser.Parse(filter), e);

    [Theory]
    [InlineData("Name = 'bob'", """{"Name":"bob"}""", true)]
    [InlineData("Name = 'BOB'", """{"Name":"bob"}""", false)]
    [InlineData("Name = 'BOB' ci", """{"Name":"bob"}""", true)]
    [InlineData("Name <> 'bob'", """{}""", false)]
    [InlineData("not (Name = 'bob')", """{}""", true)]
    [InlineData("User.Id = 5", """{"User":{"Id":5.0}}""", true)]
    [InlineData("User['first name'] like 'Jo%'", """{"User":{"first name":"John"}}""", true)]
    [InlineData("@Properties['and'] = 1", """{"and":1}""", true)]
    [InlineData("Count > 2 and Count <= 3", """{"Count":3}""", true)]
    [InlineData("Count > 2", """{"Count":"3"}""", false)]
    [InlineData("Count = '3'", """{"Count":3}""", false)]
    [InlineData("Code in [404, 500]", """{"Code":500}""", true)]
    [InlineData("Code in []", """{"Code":500}""", false)]
    [InlineData("Has(Code)", """{"Code":null}""", true)]
    [InlineData("Has(Code)", """{}""", false)]
    [InlineData("Code is null", """{}""", true)]
    [InlineData("Code is not null", """{"Code":null}""", false)]
    [InlineData("Code = null", """{}""", false)]
    [InlineData("Path like '/api/_s%'", """{"Path":"/api/users/1"}""", true)]
    [InlineData("Path like '/API/%'", """{"Path":"/api/users/1"}""", false)]
    [InlineData("Path like '/API/%' ci", """{"Path":"/api/users/1"}""", true)]
    [InlineData("Tags = 'a'", """{"Tags":["a"]}""", false)]
    [InlineData("IsAdmin = true or Role = 'admin'", """{"IsAdmin":true}""", true)]
    [InlineData("A and B = 1", """{"A":true,"B":1}""", true)]
    [InlineData("A and B = 1", """{"A":"yes","B":1}""", false)]
    public void A_filter_matches_an_event_as_the_language_documents(string filter, string properties, bool expected) =>
        Matches(filter, Event(properties)).ShouldBe(expected);

    [Theory]
    [InlineData("@Level = 'Error'", true)]
    [InlineData("@Level in ['error', 'fatal'] ci", true)]
    [InlineData("@Exception like '%Timeout%'", true)]
    [InlineData("Has(@Exception)", true)]
    [InlineData("@EventType = 0xA1B2C3D4", true)]
    [InlineData("@Message like 'User bob%'", true)]
    [InlineData("@MessageTemplate = 'User {Name} logged in'", true)]
    [InlineData("@TraceId = 'trace1' and @SpanId = 'span1'", true)]
    [InlineData("@Timestamp >= DateTime('2024-05-01T12:00:00Z') and @Timestamp < DateTime('2024-05-01T12:00:01Z')", true)]
    [InlineData("@Timestamp = '2024-05-01T12:00:00Z'", false)]
    [InlineData("\"BOB LOGGED\"", true)]
    [InlineData("bob logged", true)]
    [InlineData("alice", false)]
    public void Built_in_properties_and_free_text_match_the_event(string filter, bool expected) =>
        Matches(filter, Event(level: "Error", exception: "System.TimeoutException: Timeout", eventType: 0xA1B2C3D4)).ShouldBe(expected);

    [Fact]
    public void Text_with_no_expression_characters_is_a_search_of_the_message()
    {
        FilterParser.Parse("connection refused").ShouldBe(new TextExpression("connection refused"));
        FilterParser.Parse(" 404 ").ShouldBe(new TextExpression("404"));
        FilterParser.Parse("IsAdmin").ShouldBe(new TextExpression("IsAdmin"));
        FilterParser.Parse("error, again!").ShouldBe(new TextExpression("error, again!"));
        FilterParser.Parse("Code is null").ShouldBe(new IsNullExpression(new PropertyExpression(["Code"])));
    }

    [Theory]
    [InlineData("Name = ", 7, "expected a property, a value or '('")]
    [InlineData("(A = 1", 6, "expected ')'")]
    [InlineData("A = 1)", 5, "expected an operator")]
    [InlineData("A = 'open", 4, "not closed")]
    [InlineData("A = 1 ci ci", 9, "expected an operator")]
    [InlineData("A like 5 or B = 1", 7, "pattern")]
    [InlineData("A in (1)", 5, "'[' after 'in'")]
    [InlineData("@Nope = 1", 0, "not a built-in property")]
    [InlineData("Substring(A, 1) = 'x'", 0, "not a function")]
    [InlineData("A = DateTime('yesterday')", 13, "ISO 8601")]
    [InlineData("A = 1 # 2", 6, "'#' is not part of the filter language")]
    [InlineData("(A = 1) = true", 0, "not a condition")]
    [InlineData("A = 12abc", 6, "after a number")]
    [InlineData("", 0, "empty")]
    public void A_bad_filter_is_refused_with_the_position_it_stopped_at(string filter, int position, string problem)
    {
        var error = Should.Throw<FilterSyntaxException>(() => FilterParser.Parse(filter));
        error.Position.ShouldBe(position);
        error.Message.ShouldContain($"position {position}");
        error.Message.ShouldContain(problem);
    }

    [Fact]
    public void Hostile_nesting_size_and_characters_are_refused_rather_than_exhausting_the_stack()
    {
        Should.Throw<FilterSyntaxException>(() => FilterParser.Parse(new string('(', 100_000))).Message.ShouldContain("characters long");
        Should.Throw<FilterSyntaxException>(() => FilterParser.Parse(new string('(', 10_000) + "A = 1")).Message.ShouldContain("nests deeper than 64");
        Should.Throw<FilterSyntaxException>(() => FilterParser.Parse(string.Concat(Enumerable.Repeat("not ", 1000)) + "A = 1")).Message.ShouldContain("nests deeper");
        Should.Throw<FilterSyntaxException>(() => FilterParser.Parse(string.Join(" or ", Enumerable.Repeat("A = 1", 600)))).Message.ShouldContain("more than 1000 terms");
        Should.Throw<FilterSyntaxException>(() => FilterParser.Parse("A = 'x\0'")).Position.ShouldBe(6);
        Should.Throw<FilterSyntaxException>(() => FilterParser.Parse("A = '\ud800'")).Message.ShouldContain("surrogate");
    }

    [Fact]
    public void The_ASCII_case_folding_of_ci_leaves_other_letters_alone()
    {
        Matches("Name = 'ÉCOLE' ci", Event("""{"Name":"école"}""")).ShouldBeFalse();
        Matches("Name = 'ÉCOLE' ci", Event("""{"Name":"École"}""")).ShouldBeTrue();
        Matches("Name = 'éCOLE' ci", Event("""{"Name":"école"}""")).ShouldBeTrue();
    }
}

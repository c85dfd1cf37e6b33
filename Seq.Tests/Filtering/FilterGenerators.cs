using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Seq.Application.Filtering;

namespace Seq.Tests.Filtering;

/// <summary>An event as generated for a test: the in-memory form and the JSON of its properties, for the database.</summary>
public sealed record GeneratedEvent(int Id, FilterEvent Event, string PropertiesJson)
{
    public override string ToString() =>
        $"#{Id} @t={Event.Timestamp:O} @l={Event.Level ?? "-"} @m={Event.RenderedMessage ?? "-"} @mt={Event.MessageTemplate ?? "-"} @x={Event.Exception ?? "-"} " +
        $"@i={Event.EventType?.ToString(CultureInfo.InvariantCulture) ?? "-"} @tr={Event.TraceId ?? "-"} @sp={Event.SpanId ?? "-"} {PropertiesJson}";
}

/// <summary>FsCheck generators of filters and events drawn from small pools, so that comparisons often meet equal values.</summary>
public static class FilterGenerators
{
    public static readonly DateTimeOffset BaseTime = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    static readonly string[] Names = ["A", "B", "Name", "n", "with space", "and", "É", "x'y", "Has"];
    static readonly string[] Strings = ["", "a", "A", "abc", "ABC", "aBc", "É", "é", "a%b", "_", "x'y", "😀", "b", "Error", "error", "Hello", "lo W", "\"q\\"];
    static readonly decimal[] Numbers = [-3, -1, 0, 1, 2, 2.5m, 2.50m, 10, 0xA1B2C3D4];
    static readonly string[] Patterns = ["%", "", "a%", "%b", "_", "a_c", "%É%", "A%", "%c", "%%", "_%_", "a\\%", "😀", "%lo%"];
    static readonly string?[] Levels = [null, "Information", "Error", "error", "Warning", "Debug"];
    static readonly string?[] Messages = [null, "Hello World", "hello world", "abc ABC", "É é", "a%b_c", "", "x'y \"q\\"];
    static readonly string?[] Texts = [null, "a", "b", "boom", "ABC", "😀"];
    static readonly uint?[] EventTypes = [null, 0, 1, 2, 0xA1B2C3D4];

    public static Gen<JsonNode?> JsonValue(int depth)
    {
        var scalars = Gen.OneOf(
            Gen.Constant<JsonNode?>(null),
            Gen.Elements(true, false).Select(b => (JsonNode?)JsonValueNode(b)),
            Gen.Elements(Numbers).Select(n => (JsonNode?)JsonValueNode(n)),
            Gen.Elements(Strings).Select(s => (JsonNode?)JsonValueNode(s)));
        if (depth <= 0)
            return scalars;

        var array = Gen.ListOf(JsonValue(depth - 1), 3).Select(items => (JsonNode?)new JsonArray([.. items]));
        return Gen.Frequency((6, scalars), (1, JsonObject(depth - 1).Select(o => (JsonNode?)o)), (1, array));
    }

    static JsonNode JsonValueNode<T>(T value) => System.Text.Json.Nodes.JsonValue.Create(value)!;

    public static Gen<JsonObject> JsonObject(int depth) =>
        Gen.SubListOf(Names).SelectMany(names => Gen.ListOf(JsonValue(depth), names.Count).Select(values =>
        {
            var obj = new JsonObject();
            for (var i = 0; i < names.Count; i++)
                obj[names[i]] = values[i];
            return obj;
        }));

    public static Gen<GeneratedEvent> Event(int id) =>
        from seconds in Gen.Choose(-3, 3)
        from micros in Gen.Choose(0, 2)
        from level in Gen.Elements(Levels)
        from message in Gen.Elements(Messages)
        from template in Gen.Elements(Messages)
        from exception in Gen.Elements(Texts)
        from eventType in Gen.Elements(EventTypes)
        from traceId in Gen.Elements(Texts)
        from spanId in Gen.Elements(Texts)
        from properties in JsonObject(2)
        let json = properties.ToJsonString()
        select new GeneratedEvent(
            id,
            new FilterEvent(BaseTime.AddSeconds(seconds).AddTicks(micros * 10), level, template, message, exception, eventType, traceId, spanId, JsonDocument.Parse(json).RootElement),
            json);

    public static Gen<GeneratedEvent[]> Events =>
        Gen.Choose(1, 25).SelectMany(count => Gen.CollectToArray(Enumerable.Range(1, count), Event));

    // Built once: the generators below are composed so that only the branch a sample takes is constructed.
    static readonly Gen<FilterExpression> Property =
        Gen.Choose(1, 2).SelectMany(length => Gen.ArrayOf(Gen.Elements(Names), length)).Select(path => (FilterExpression)new PropertyExpression(path));

    static readonly Gen<FilterExpression> BuiltIn = Gen.Elements(Enum.GetValues<BuiltInProperty>()).Select(p => (FilterExpression)new BuiltInExpression(p));

    static readonly Gen<FilterExpression> Constant = Gen.OneOf(
        Gen.Elements<object?>(null, true, false).Select(v => (FilterExpression)new ConstantExpression(v)),
        Gen.Elements(Numbers).Select(n => (FilterExpression)new ConstantExpression(n)),
        Gen.Elements(Strings.Concat(Levels.OfType<string>()).ToArray()).Select(s => (FilterExpression)new ConstantExpression(s)),
        Gen.Choose(-3, 3).SelectMany(s => Gen.Choose(0, 2).Select(m => (FilterExpression)new ConstantExpression(BaseTime.AddSeconds(s).AddTicks(m * 10)))));

    static readonly Gen<FilterExpression> Operand = Gen.Frequency((4, Property), (2, BuiltIn), (4, Constant));

    static readonly Gen<FilterExpression> Leaf = Gen.Frequency(
        (6, from op in Gen.Elements(Enum.GetValues<ComparisonOperator>())
            from left in Operand
            from right in Operand
            from ci in Gen.Elements(false, false, true)
            select (FilterExpression)new ComparisonExpression(op, left, right, ci)),
        (2, from subject in Operand
            from pattern in Gen.Elements(Patterns)
            from ci in Gen.Elements(false, true)
            select (FilterExpression)new LikeExpression(subject, pattern, ci)),
        (2, from subject in Operand
            from count in Gen.Choose(0, 3)
            from candidates in Gen.ArrayOf(Operand, count)
            from ci in Gen.Elements(false, true)
            select (FilterExpression)new InExpression(subject, candidates, ci)),
        (1, Operand.Select(o => (FilterExpression)new IsNullExpression(o))),
        (1, Gen.OneOf(Property, BuiltIn).Select(o => (FilterExpression)new HasExpression(o))),
        (1, Gen.Elements(Strings).Select(s => (FilterExpression)new TextExpression(s))),
        (1, Property));

    static readonly Gen<FilterExpression> ScalarConstant = Gen.OneOf(
        Gen.Elements<object?>(null, true, false).Select(v => (FilterExpression)new ConstantExpression(v)),
        Gen.Elements(Numbers).Select(n => (FilterExpression)new ConstantExpression(n)),
        Gen.Elements(Strings.Concat(Levels.OfType<string>()).ToArray()).Select(s => (FilterExpression)new ConstantExpression(s)));

    /// <summary>Equality of a property path and a constant, either way round or as <c>in</c>: what the search serves from its index.</summary>
    public static readonly Gen<FilterExpression> PropertyEquality = Gen.Frequency(
        (4, from property in Property
            from constant in ScalarConstant
            from swap in Gen.Elements(false, true)
            from ci in Gen.Elements(false, true)
            select (FilterExpression)new ComparisonExpression(ComparisonOperator.Equal, swap ? constant : property, swap ? property : constant, ci)),
        (1, from property in Property
            from count in Gen.Choose(1, 3)
            from candidates in Gen.ArrayOf(ScalarConstant, count)
            from ci in Gen.Elements(false, true)
            select (FilterExpression)new InExpression(property, candidates, ci)),
        (1, from property in Property
            from constant in ScalarConstant
            select (FilterExpression)new NotExpression(new ComparisonExpression(ComparisonOperator.Equal, property, constant, false))));

    public static Gen<FilterExpression> Predicate(int size) =>
        size <= 0
            ? Leaf
            : Gen.Choose(0, 7).SelectMany(branch => branch switch
            {
                < 3 => Leaf,
                3 or 4 => Predicate(size / 2).SelectMany(l => Predicate(size / 2).Select(r => (FilterExpression)new AndExpression(l, r))),
                5 or 6 => Predicate(size / 2).SelectMany(l => Predicate(size / 2).Select(r => (FilterExpression)new OrExpression(l, r))),
                _ => Predicate(size - 1).Select(p => (FilterExpression)new NotExpression(p)),
            });

    public static Gen<FilterExpression> Filter => Gen.Sized(size => Predicate(Math.Min(size, 12)));

    /// <summary>The filter's text in the language, fully parenthesized, so that parsing it gives back the same tree.</summary>
    public static string Format(FilterExpression expression) => expression switch
    {
        AndExpression a => $"({Format(a.Left)} and {Format(a.Right)})",
        OrExpression o => $"({Format(o.Left)} or {Format(o.Right)})",
        NotExpression n => $"not ({Format(n.Operand)})",
        TextExpression t => "\"" + t.Text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        HasExpression h => $"Has({Format(h.Subject)})",
        IsNullExpression i => $"({FormatOperand(i.Subject)} is null)",
        ComparisonExpression c => $"({FormatOperand(c.Left)} {Symbol(c.Operator)} {FormatOperand(c.Right)}{(c.CaseInsensitive ? " ci" : "")})",
        LikeExpression l => $"({FormatOperand(l.Subject)} like {Quote(l.Pattern)}{(l.CaseInsensitive ? " ci" : "")})",
        InExpression i => $"({FormatOperand(i.Subject)} in [{string.Join(", ", i.Candidates.Select(FormatOperand))}]{(i.CaseInsensitive ? " ci" : "")})",
        ConstantExpression { Value: null } => "null",
        ConstantExpression { Value: bool b } => b ? "true" : "false",
        ConstantExpression { Value: decimal d } => d.ToString(CultureInfo.InvariantCulture),
        ConstantExpression { Value: string s } => Quote(s),
        ConstantExpression { Value: DateTimeOffset t } => $"DateTime('{t.ToString("O", CultureInfo.InvariantCulture)}')",
        PropertyExpression p => (IsIdentifier(p.Path[0]) ? p.Path[0] : $"@Properties[{Quote(p.Path[0])}]") +
                                string.Concat(p.Path.Skip(1).Select(s => IsIdentifier(s) ? "." + s : $"[{Quote(s)}]")),
        BuiltInExpression b => "@" + b.Property,
        _ => throw new ArgumentOutOfRangeException(nameof(expression)),
    };

    static string FormatOperand(FilterExpression expression) =>
        expression is ConstantExpression or PropertyExpression or BuiltInExpression ? Format(expression) : $"({Format(expression)})";

    static readonly string[] Keywords = ["and", "or", "not", "like", "in", "is", "null", "true", "false", "ci"];

    static bool IsIdentifier(string name) =>
        name.Length > 0 && (char.IsLetter(name[0]) || name[0] == '_') && name.All(c => char.IsLetterOrDigit(c) || c == '_') &&
        !Keywords.Contains(name.ToLowerInvariant());

    static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";

    static string Symbol(ComparisonOperator op) => op switch
    {
        ComparisonOperator.Equal => "=",
        ComparisonOperator.NotEqual => "<>",
        ComparisonOperator.LessThan => "<",
        ComparisonOperator.LessThanOrEqual => "<=",
        ComparisonOperator.GreaterThan => ">",
        _ => ">=",
    };
}

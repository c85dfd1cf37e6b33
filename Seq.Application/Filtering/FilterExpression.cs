namespace Seq.Application.Filtering;

/// <summary>
/// The syntax tree of a filter: one tree, read by two back-ends (in-memory evaluation and SQL translation) that must agree.
/// docs/filter-language.md gives the meaning of each node.
/// </summary>
public abstract record FilterExpression;

/// <summary>A literal: <c>null</c>, a <see cref="bool"/>, a <see cref="decimal"/>, a <see cref="string"/> or a <see cref="DateTimeOffset"/> (from <c>DateTime('…')</c>).</summary>
public sealed record ConstantExpression(object? Value) : FilterExpression;

/// <summary>A user property, reached through nested objects by <see cref="Path"/> (<c>A.B</c>, <c>A['b c']</c>).</summary>
public sealed record PropertyExpression(IReadOnlyList<string> Path) : FilterExpression
{
    public bool Equals(PropertyExpression? other) => other is not null && Path.SequenceEqual(other.Path, StringComparer.Ordinal);

    public override int GetHashCode() => Path.Count == 0 ? 0 : HashCode.Combine(Path.Count, Path[0]);
}

public enum BuiltInProperty
{
    Timestamp,
    Level,
    Message,
    MessageTemplate,
    EventType,
    Exception,
    TraceId,
    SpanId,
}

/// <summary>One of the event's own fields: <c>@Timestamp</c>, <c>@Level</c>, <c>@Message</c> and so on.</summary>
public sealed record BuiltInExpression(BuiltInProperty Property) : FilterExpression;

public enum ComparisonOperator
{
    Equal,
    NotEqual,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
}

public sealed record ComparisonExpression(ComparisonOperator Operator, FilterExpression Left, FilterExpression Right, bool CaseInsensitive) : FilterExpression;

/// <summary><c>Subject like 'pattern'</c>, where <c>%</c> matches any run of characters and <c>_</c> exactly one.</summary>
public sealed record LikeExpression(FilterExpression Subject, string Pattern, bool CaseInsensitive) : FilterExpression;

/// <summary><c>Subject in [a, b, …]</c>: true when the subject equals one of the candidates.</summary>
public sealed record InExpression(FilterExpression Subject, IReadOnlyList<FilterExpression> Candidates, bool CaseInsensitive) : FilterExpression
{
    public bool Equals(InExpression? other) =>
        other is not null && Subject.Equals(other.Subject) && CaseInsensitive == other.CaseInsensitive && Candidates.SequenceEqual(other.Candidates);

    public override int GetHashCode() => HashCode.Combine(Subject, Candidates.Count, CaseInsensitive);
}

/// <summary><c>Subject is null</c>: true when the subject is missing or null.</summary>
public sealed record IsNullExpression(FilterExpression Subject) : FilterExpression;

/// <summary><c>Has(Subject)</c>: true when the subject is present (even if null).</summary>
public sealed record HasExpression(FilterExpression Subject) : FilterExpression;

public sealed record AndExpression(FilterExpression Left, FilterExpression Right) : FilterExpression;

public sealed record OrExpression(FilterExpression Left, FilterExpression Right) : FilterExpression;

public sealed record NotExpression(FilterExpression Operand) : FilterExpression;

/// <summary>Free text: true when the rendered message contains <see cref="Text"/>, ignoring case.</summary>
public sealed record TextExpression(string Text) : FilterExpression;

using System.Text;
using System.Text.Json;

namespace Seq.Application.Filtering;

/// <summary>
/// Evaluates a filter against one event in memory, for ingestion filters and signals. Its meaning must be exactly
/// that of the SQL back-end (Seq.Infrastructure/Events/FilterSql.cs); FilterBackEndAgreementTests checks they agree.
/// </summary>
public static class FilterEvaluator
{
    public static bool Matches(FilterExpression filter, FilterEvent e)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(e);
        return Test(filter, e);
    }

    static bool Test(FilterExpression expression, FilterEvent e) => expression switch
    {
        AndExpression a => Test(a.Left, e) && Test(a.Right, e),
        OrExpression o => Test(o.Left, e) || Test(o.Right, e),
        NotExpression n => !Test(n.Operand, e),
        TextExpression t => e.RenderedMessage is { } message && LowerAscii(message).Contains(LowerAscii(t.Text), StringComparison.Ordinal),
        HasExpression h => Evaluate(h.Subject, e).Kind != Kind.Undefined,
        IsNullExpression i => Evaluate(i.Subject, e).Kind is Kind.Undefined or Kind.Null,
        ComparisonExpression c => Compare(c.Operator, Evaluate(c.Left, e), Evaluate(c.Right, e), c.CaseInsensitive),
        InExpression i => In(Evaluate(i.Subject, e), i.Candidates, i.CaseInsensitive, e),
        LikeExpression l => Evaluate(l.Subject, e) is { Kind: Kind.String } subject && Like(subject.String!, l.Pattern, l.CaseInsensitive),
        _ => Evaluate(expression, e).Kind == Kind.True,
    };

    static bool In(Value subject, IReadOnlyList<FilterExpression> candidates, bool caseInsensitive, FilterEvent e)
    {
        foreach (var candidate in candidates)
        {
            if (Compare(ComparisonOperator.Equal, subject, Evaluate(candidate, e), caseInsensitive))
                return true;
        }
        return false;
    }

    enum Kind
    {
        Undefined,
        Null,
        True,
        False,
        Number,
        String,
        Timestamp,
        Structure,
    }

    readonly record struct Value(Kind Kind, string? String = null, decimal Decimal = 0, double Double = 0, bool IsDouble = false, DateTimeOffset Timestamp = default, JsonElement Json = default)
    {
        public static readonly Value Undefined = new(Kind.Undefined);

        public static Value Text(string? s) => s is null ? Undefined : new Value(Kind.String, s);

        public static Value From(JsonElement json) => json.ValueKind switch
        {
            JsonValueKind.Null => new Value(Kind.Null),
            JsonValueKind.True => new Value(Kind.True),
            JsonValueKind.False => new Value(Kind.False),
            JsonValueKind.String => new Value(Kind.String, json.GetString()),
            JsonValueKind.Number => json.TryGetDecimal(out var d) ? new Value(Kind.Number, Decimal: d) : new Value(Kind.Number, Double: json.GetDouble(), IsDouble: true),
            JsonValueKind.Object or JsonValueKind.Array => new Value(Kind.Structure, Json: json),
            _ => Undefined,
        };
    }

    static Value Evaluate(FilterExpression expression, FilterEvent e)
    {
        switch (expression)
        {
            case ConstantExpression c:
                return c.Value switch
                {
                    null => new Value(Kind.Null),
                    bool b => new Value(b ? Kind.True : Kind.False),
                    decimal d => new Value(Kind.Number, Decimal: d),
                    string s => new Value(Kind.String, s),
                    DateTimeOffset t => new Value(Kind.Timestamp, Timestamp: t),
                    _ => Value.Undefined,
                };
            case PropertyExpression p:
            {
                var current = e.Properties;
                foreach (var segment in p.Path)
                {
                    if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(segment, out current))
                        return Value.Undefined;
                }
                return Value.From(current);
            }
            case BuiltInExpression b:
                return b.Property switch
                {
                    BuiltInProperty.Timestamp => new Value(Kind.Timestamp, Timestamp: e.Timestamp),
                    BuiltInProperty.Level => Value.Text(e.Level),
                    BuiltInProperty.Message => Value.Text(e.RenderedMessage),
                    BuiltInProperty.MessageTemplate => Value.Text(e.MessageTemplate),
                    BuiltInProperty.Exception => Value.Text(e.Exception),
                    BuiltInProperty.TraceId => Value.Text(e.TraceId),
                    BuiltInProperty.SpanId => Value.Text(e.SpanId),
                    BuiltInProperty.EventType => e.EventType is { } type ? new Value(Kind.Number, Decimal: type) : Value.Undefined,
                    _ => Value.Undefined,
                };
            default:
                // A predicate used as a value (`(A = 1) = true`) is a boolean.
                return new Value(Test(expression, e) ? Kind.True : Kind.False);
        }
    }

    static bool Compare(ComparisonOperator op, Value left, Value right, bool caseInsensitive)
    {
        if (left.Kind == Kind.Undefined || right.Kind == Kind.Undefined)
            return false;

        return op switch
        {
            ComparisonOperator.Equal => AreEqual(left, right, caseInsensitive),
            ComparisonOperator.NotEqual => !AreEqual(left, right, caseInsensitive),
            _ => Order(left, right, caseInsensitive) is { } order && op switch
            {
                ComparisonOperator.LessThan => order < 0,
                ComparisonOperator.LessThanOrEqual => order <= 0,
                ComparisonOperator.GreaterThan => order > 0,
                _ => order >= 0,
            },
        };
    }

    static bool AreEqual(Value left, Value right, bool caseInsensitive)
    {
        if (left.Kind != right.Kind)
            return false;

        return left.Kind switch
        {
            Kind.String => caseInsensitive
                ? string.Equals(LowerAscii(left.String!), LowerAscii(right.String!), StringComparison.Ordinal)
                : string.Equals(left.String, right.String, StringComparison.Ordinal),
            Kind.Number => CompareNumbers(left, right) == 0,
            Kind.Timestamp => Microseconds(left.Timestamp) == Microseconds(right.Timestamp),
            Kind.Structure => JsonEqual(left.Json, right.Json),
            _ => true,
        };
    }

    static int? Order(Value left, Value right, bool caseInsensitive)
    {
        if (left.Kind != right.Kind)
            return null;

        return left.Kind switch
        {
            Kind.Number => CompareNumbers(left, right),
            Kind.Timestamp => Microseconds(left.Timestamp).CompareTo(Microseconds(right.Timestamp)),
            Kind.String => CompareCodePoints(caseInsensitive ? LowerAscii(left.String!) : left.String!, caseInsensitive ? LowerAscii(right.String!) : right.String!),
            _ => null,
        };
    }

    // PostgreSQL keeps microseconds.
    static long Microseconds(DateTimeOffset t) => t.UtcTicks / 10;

    static int CompareNumbers(Value left, Value right) =>
        !left.IsDouble && !right.IsDouble
            ? left.Decimal.CompareTo(right.Decimal)
            : (left.IsDouble ? left.Double : (double)left.Decimal).CompareTo(right.IsDouble ? right.Double : (double)right.Decimal);

    // The SQL back-end compares strings under COLLATE "C": UTF-8 byte order, which is code point order.
    static int CompareCodePoints(string left, string right) =>
        Encoding.UTF8.GetBytes(left).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(right));

    static bool JsonEqual(JsonElement left, JsonElement right)
    {
        var l = Value.From(left);
        var r = Value.From(right);
        if (l.Kind != r.Kind)
            return false;
        if (l.Kind != Kind.Structure)
            return AreEqual(l, r, caseInsensitive: false);
        if (left.ValueKind != right.ValueKind)
            return false;

        if (left.ValueKind == JsonValueKind.Array)
        {
            if (left.GetArrayLength() != right.GetArrayLength())
                return false;
            using var a = left.EnumerateArray();
            using var b = right.EnumerateArray();
            while (a.MoveNext() && b.MoveNext())
            {
                if (!JsonEqual(a.Current, b.Current))
                    return false;
            }
            return true;
        }

        var leftProperties = Distinct(left);
        var rightProperties = Distinct(right);
        if (leftProperties.Count != rightProperties.Count)
            return false;
        foreach (var (name, value) in leftProperties)
        {
            if (!rightProperties.TryGetValue(name, out var other) || !JsonEqual(value, other))
                return false;
        }
        return true;
    }

    // jsonb keeps the last of duplicated keys.
    static Dictionary<string, JsonElement> Distinct(JsonElement obj)
    {
        var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
            properties[property.Name] = property.Value;
        return properties;
    }

    /// <summary>
    /// <c>ci</c> folds ASCII letters only, the same in both back-ends whatever the database's locale (docs/filter-language.md).
    /// </summary>
    internal static string LowerAscii(string s)
    {
        var i = 0;
        while (i < s.Length && !char.IsAsciiLetterUpper(s[i]))
            i++;
        if (i == s.Length)
            return s;

        return string.Create(s.Length, s, static (span, source) =>
        {
            for (var j = 0; j < source.Length; j++)
                span[j] = char.IsAsciiLetterUpper(source[j]) ? (char)(source[j] + 32) : source[j];
        });
    }

    static bool Like(string subject, string pattern, bool caseInsensitive)
    {
        if (caseInsensitive)
        {
            subject = LowerAscii(subject);
            pattern = LowerAscii(pattern);
        }

        // `_` matches one character, which PostgreSQL counts in code points.
        var s = subject.EnumerateRunes().ToArray();
        var p = pattern.EnumerateRunes().ToArray();
        int si = 0, pi = 0, starP = -1, starS = 0;
        while (si < s.Length)
        {
            if (pi < p.Length && p[pi].Value == '%')
            {
                starP = pi++;
                starS = si;
            }
            else if (pi < p.Length && (p[pi].Value == '_' || p[pi] == s[si]))
            {
                pi++;
                si++;
            }
            else if (starP >= 0)
            {
                pi = starP + 1;
                si = ++starS;
            }
            else
            {
                return false;
            }
        }
        while (pi < p.Length && p[pi].Value == '%')
            pi++;
        return pi == p.Length;
    }
}

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Seq.Application.Filtering;

namespace Seq.Infrastructure.Events;

/// <summary>
/// Translates a filter into a SQL boolean expression over the events table aliased <c>e</c>. Every value the filter
/// holds goes to the command as a parameter, never into the text. The result is never SQL NULL: an unknown comparison
/// is false, as in <see cref="FilterEvaluator"/>, whose meaning this must match exactly (FilterBackEndAgreementTests).
/// </summary>
public static class FilterSql
{
    public static string Translate(FilterExpression filter, NpgsqlCommand command)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(command);

        // A filter parsed once (ParsedFilterCache) is translated once: its tree is immutable, and the cached SQL names
        // parameters of its own, which are copied to each command.
        var translation = Translations.GetValue(filter, Compile);
        if (translation.Parameters.Any(p => command.Parameters.Contains(p.ParameterName)))
            translation = Compile(filter); // the same filter twice in one command
        foreach (var parameter in translation.Parameters)
            command.Parameters.Add(parameter.Clone());
        return translation.Sql;
    }

    sealed record Translation(string Sql, NpgsqlParameter[] Parameters);

    static readonly ConditionalWeakTable<FilterExpression, Translation> Translations = new();
    static long _translations;

    static Translation Compile(FilterExpression filter)
    {
        using var scratch = new NpgsqlCommand();
        var prefix = "filter_" + Interlocked.Increment(ref _translations).ToString(CultureInfo.InvariantCulture) + "_";
        var sql = new Translator(scratch, prefix).Predicate(filter);
        var parameters = scratch.Parameters.ToArray();
        scratch.Parameters.Clear();
        return new Translation(sql, parameters);
    }

    enum Kind
    {
        // A jsonb value; SQL NULL means the value is missing.
        Json,

        // A timestamptz, never NULL.
        Timestamp,
    }

    readonly record struct Operand(Kind Kind, string Sql);

    // 2^6 = 64 probes of the index at most; a longer `ci` string is compared row by row.
    const int MaximumCaseVariantLetters = 6;

    static string Document(IReadOnlyList<string> path, object? leaf)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            foreach (var segment in path)
            {
                writer.WriteStartObject();
                writer.WritePropertyName(segment);
            }
            switch (leaf)
            {
                case null: writer.WriteNullValue(); break;
                case bool b: writer.WriteBooleanValue(b); break;
                case decimal d: writer.WriteRawValue(d.ToString(CultureInfo.InvariantCulture)); break;
                default: writer.WriteStringValue((string)leaf); break;
            }
            for (var i = 0; i < path.Count; i++)
                writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    static IEnumerable<string> CaseVariants(string s)
    {
        var letters = Enumerable.Range(0, s.Length).Where(i => char.IsAsciiLetter(s[i])).ToArray();
        for (var mask = 0; mask < 1 << letters.Length; mask++)
        {
            var chars = s.ToCharArray();
            for (var bit = 0; bit < letters.Length; bit++)
            {
                // ASCII letters differ from their other case in the 0x20 bit only.
                var c = chars[letters[bit]];
                chars[letters[bit]] = (mask & (1 << bit)) != 0 ? (char)(c & ~0x20) : (char)(c | 0x20);
            }
            yield return new string(chars);
        }
    }

    // jsonb refuses \u0000 and unpaired surrogates; such a filter keeps the general form (and its behaviour).
    static bool IsJsonSafe(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\0')
                return false;
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                i++;
            else if (char.IsSurrogate(s[i]))
                return false;
        }
        return true;
    }

    // `ci` folds ASCII letters only, whatever the database's locale, as FilterEvaluator does.
    static string LowerAscii(string sql) => $"translate({sql}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";

    sealed class Translator(NpgsqlCommand command, string prefix)
    {
        int _next;

        string Parameter(NpgsqlDbType type, object value)
        {
            var name = prefix + (_next++).ToString(CultureInfo.InvariantCulture);

            command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value });
            return "@" + name;
        }

        string JsonParameter(string json) => $"{Parameter(NpgsqlDbType.Jsonb, json)}::jsonb";

        /// <summary>
        /// A property path equal to a constant, as jsonb containment (<c>properties @> '{"A":{"B":"x"}}'</c>), which the
        /// GIN index on the properties (schema step 11, ADR 0042) serves. It means exactly what the general form means:
        /// containment of a scalar leaf holds only where the path reaches an equal scalar of the same JSON type (an array
        /// at the path does not contain it, 1.0 equals 1), and is never NULL. Null when the comparison has no such form.
        /// </summary>
        string? Containment(FilterExpression left, FilterExpression right, bool caseInsensitive)
        {
            var (property, constant) = (left, right) switch
            {
                (PropertyExpression p, ConstantExpression c) => (p, c),
                (ConstantExpression c, PropertyExpression p) => (p, c),
                _ => (null, null),
            };
            if (property is null || constant is null || property.Path.Count == 0 || !property.Path.All(IsJsonSafe))
                return null;

            switch (constant.Value)
            {
                case null or bool or decimal:
                    return $"(e.properties @> {JsonParameter(Document(property.Path, constant.Value))})";
                case string s when IsJsonSafe(s):
                    if (!caseInsensitive || !s.Any(char.IsAsciiLetter))
                        return $"(e.properties @> {JsonParameter(Document(property.Path, s))})";
                    // `ci` equality is equality with one of the string's ASCII case variants, as long as they are few.
                    if (s.Count(char.IsAsciiLetter) > MaximumCaseVariantLetters)
                        return null;
                    var documents = CaseVariants(s).Select(variant => Document(property.Path, variant)).ToArray();
                    return $"(e.properties @> ANY({Parameter(NpgsqlDbType.Array | NpgsqlDbType.Jsonb, documents)}))";
                default:
                    return null;
            }
        }

        public string Predicate(FilterExpression expression)
        {
            switch (expression)
            {
                case AndExpression a:
                    return $"({Predicate(a.Left)} AND {Predicate(a.Right)})";
                case OrExpression o:
                    return $"({Predicate(o.Left)} OR {Predicate(o.Right)})";
                case NotExpression n:
                    return $"(NOT {Predicate(n.Operand)})";
                case TextExpression t:
                    return $"coalesce(strpos({LowerAscii("e.rendered_message")}, {LowerAscii(Parameter(NpgsqlDbType.Text, t.Text))}) > 0, false)";
                case HasExpression h:
                {
                    var subject = Value(h.Subject);
                    return subject.Kind == Kind.Timestamp ? "TRUE" : $"({subject.Sql} IS NOT NULL)";
                }
                case IsNullExpression i:
                {
                    var subject = Value(i.Subject);
                    return subject.Kind == Kind.Timestamp ? "FALSE" : $"(coalesce({subject.Sql}, 'null'::jsonb) = 'null'::jsonb)";
                }
                case ComparisonExpression { Operator: ComparisonOperator.Equal } c when Containment(c.Left, c.Right, c.CaseInsensitive) is { } contained:
                    return contained;
                case ComparisonExpression c:
                    return Comparison(c.Operator, Value(c.Left), Value(c.Right), c.CaseInsensitive);
                case InExpression i:
                {
                    if (i.Candidates.Count == 0)
                        return "FALSE";
                    Operand? subject = null;
                    return "(" + string.Join(" OR ", i.Candidates.Select(candidate =>
                        Containment(i.Subject, candidate, i.CaseInsensitive) ?? Comparison(ComparisonOperator.Equal, subject ??= Value(i.Subject), Value(candidate), i.CaseInsensitive))) + ")";
                }
                case LikeExpression l:
                {
                    var subject = Value(l.Subject);
                    if (subject.Kind == Kind.Timestamp)
                        return "FALSE";
                    var text = $"({subject.Sql} #>> '{{}}')";
                    var pattern = Parameter(NpgsqlDbType.Text, l.Pattern);
                    if (l.CaseInsensitive)
                    {
                        text = LowerAscii(text);
                        pattern = LowerAscii(pattern);
                    }
                    return $"coalesce(jsonb_typeof({subject.Sql}) = 'string' AND ({text} COLLATE \"C\") LIKE {pattern} ESCAPE '', false)";
                }
                default:
                {
                    var value = Value(expression);
                    return value.Kind == Kind.Timestamp ? "FALSE" : $"coalesce({value.Sql} = 'true'::jsonb, false)";
                }
            }
        }

        Operand Value(FilterExpression expression)
        {
            switch (expression)
            {
                case ConstantExpression c:
                    return c.Value switch
                    {
                        null => new Operand(Kind.Json, "'null'::jsonb"),
                        true => new Operand(Kind.Json, "'true'::jsonb"),
                        false => new Operand(Kind.Json, "'false'::jsonb"),
                        decimal d => new Operand(Kind.Json, JsonParameter(d.ToString(CultureInfo.InvariantCulture))),
                        string s => new Operand(Kind.Json, JsonParameter(JsonSerializer.Serialize(s))),
                        DateTimeOffset t => new Operand(Kind.Timestamp, Parameter(NpgsqlDbType.TimestampTz, t.ToUniversalTime())),
                        _ => throw new ArgumentException($"A filter constant of type {c.Value.GetType().Name} has no SQL form.", nameof(expression)),
                    };
                case PropertyExpression p:
                    return new Operand(Kind.Json, "(e.properties" + string.Concat(p.Path.Select(segment => " -> " + Parameter(NpgsqlDbType.Text, segment))) + ")");
                case BuiltInExpression b:
                    return b.Property switch
                    {
                        BuiltInProperty.Timestamp => new Operand(Kind.Timestamp, "e.timestamp"),
                        BuiltInProperty.Level => new Operand(Kind.Json, "to_jsonb(e.level)"),
                        BuiltInProperty.Message => new Operand(Kind.Json, "to_jsonb(e.rendered_message)"),
                        BuiltInProperty.MessageTemplate => new Operand(Kind.Json, "to_jsonb(e.message_template)"),
                        BuiltInProperty.Exception => new Operand(Kind.Json, "to_jsonb(e.exception)"),
                        BuiltInProperty.TraceId => new Operand(Kind.Json, "to_jsonb(e.trace_id)"),
                        BuiltInProperty.SpanId => new Operand(Kind.Json, "to_jsonb(e.span_id)"),
                        BuiltInProperty.EventType => new Operand(Kind.Json, "to_jsonb(e.event_type)"),
                        _ => throw new ArgumentOutOfRangeException(nameof(expression), b.Property, null),
                    };
                default:
                    // A predicate used as a value (`(A = 1) = true`) is a boolean.
                    return new Operand(Kind.Json, $"to_jsonb({Predicate(expression)})");
            }
        }

        static string Comparison(ComparisonOperator op, Operand left, Operand right, bool caseInsensitive)
        {
            if (left.Kind == Kind.Timestamp && right.Kind == Kind.Timestamp)
                return $"({left.Sql} {Symbol(op)} {right.Sql})";

            if (left.Kind == Kind.Timestamp || right.Kind == Kind.Timestamp)
            {
                var other = left.Kind == Kind.Json ? left : right;
                return op == ComparisonOperator.NotEqual ? $"({other.Sql} IS NOT NULL)" : "FALSE";
            }

            var l = left.Sql;
            var r = right.Sql;
            var equal = caseInsensitive
                ? $"CASE WHEN jsonb_typeof({l}) = 'string' AND jsonb_typeof({r}) = 'string' THEN {LowerAscii($"({l} #>> '{{}}')")} = {LowerAscii($"({r} #>> '{{}}')")} ELSE {l} = {r} END"
                : $"{l} = {r}";

            switch (op)
            {
                case ComparisonOperator.Equal:
                    return $"coalesce({equal}, false)";
                case ComparisonOperator.NotEqual:
                    return $"coalesce(NOT ({equal}), false)";
                default:
                {
                    var ls = $"({l} #>> '{{}}')";
                    var rs = $"({r} #>> '{{}}')";
                    if (caseInsensitive)
                    {
                        ls = LowerAscii(ls);
                        rs = LowerAscii(rs);
                    }
                    var symbol = Symbol(op);
                    return $"coalesce(CASE WHEN jsonb_typeof({l}) = 'number' AND jsonb_typeof({r}) = 'number' THEN ({l})::numeric {symbol} ({r})::numeric " +
                           $"WHEN jsonb_typeof({l}) = 'string' AND jsonb_typeof({r}) = 'string' THEN ({ls} COLLATE \"C\") {symbol} ({rs} COLLATE \"C\") ELSE false END, false)";
                }
            }
        }

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
}

using System.Globalization;
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
        return new Translator(command).Predicate(filter);
    }

    enum Kind
    {
        // A jsonb value; SQL NULL means the value is missing.
        Json,

        // A timestamptz, never NULL.
        Timestamp,
    }

    readonly record struct Operand(Kind Kind, string Sql);

    // `ci` folds ASCII letters only, whatever the database's locale, as FilterEvaluator does.
    static string LowerAscii(string sql) => $"translate({sql}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";

    sealed class Translator(NpgsqlCommand command)
    {
        int _next;

        string Parameter(NpgsqlDbType type, object value)
        {
            string name;
            do
                name = "filter_" + (_next++).ToString(CultureInfo.InvariantCulture);
            while (command.Parameters.Contains(name));

            command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value });
            return "@" + name;
        }

        string JsonParameter(string json) => $"{Parameter(NpgsqlDbType.Jsonb, json)}::jsonb";

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
                case ComparisonExpression c:
                    return Comparison(c.Operator, Value(c.Left), Value(c.Right), c.CaseInsensitive);
                case InExpression i:
                {
                    if (i.Candidates.Count == 0)
                        return "FALSE";
                    var subject = Value(i.Subject);
                    return "(" + string.Join(" OR ", i.Candidates.Select(candidate => Comparison(ComparisonOperator.Equal, subject, Value(candidate), i.CaseInsensitive))) + ")";
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

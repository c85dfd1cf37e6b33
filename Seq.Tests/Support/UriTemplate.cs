using System.Collections;
using System.Globalization;
using System.Text;

namespace Seq.Tests.Support;

/// <summary>
/// RFC 6570 URI templates (levels 1 to 4: every operator, prefixes and explode), expanded the way Seq's API client
/// does it: a parameter the template does not declare is an error (the client's template library throws), a null
/// value is undefined and left out, a <see cref="bool"/> is written as .NET writes it (<c>True</c>, <c>False</c>)
/// and a <see cref="DateTime"/> in round-trip form.
/// </summary>
/// <example><c>UriTemplate.Expand("api/apikeys{?ownerId,shared}", new() { ["shared"] = true })</c> is <c>api/apikeys?shared=True</c>.</example>
public static class UriTemplate
{
    sealed record Operator(string First, char Separator, bool Named, string IfEmpty, bool AllowReserved);

    sealed record Variable(string Name, int? Prefix, bool Explode);

    const string Unreserved = "-._~";
    const string Reserved = ":/?#[]@!$&'()*+,;=";

    static readonly Dictionary<char, Operator> Operators = new()
    {
        ['+'] = new("", ',', false, "", true),
        ['#'] = new("#", ',', false, "", true),
        ['.'] = new(".", '.', false, "", false),
        ['/'] = new("/", '/', false, "", false),
        [';'] = new(";", ';', true, "", false),
        ['?'] = new("?", '&', true, "=", false),
        ['&'] = new("&", '&', true, "=", false),
    };

    static readonly Operator Simple = new("", ',', false, "", false);

    /// <summary>The names of the variables the template declares, in order. Throws <see cref="FormatException"/> on a malformed template.</summary>
    public static IReadOnlyList<string> ParameterNames(string template) =>
        [.. Expressions(template).SelectMany(e => e.Variables).Select(v => v.Name).Distinct(StringComparer.Ordinal)];

    /// <summary>Whether the template has no expression: it is a plain address.</summary>
    public static bool IsLiteral(string template) => !Expressions(template).Any();

    /// <summary>
    /// Expands <paramref name="template"/>. Throws <see cref="ArgumentException"/> when a parameter is not declared by
    /// the template, exactly where Seq's client would fail, and <see cref="FormatException"/> when the template is malformed.
    /// </summary>
    public static string Expand(string template, IReadOnlyDictionary<string, object?>? parameters = null)
    {
        parameters ??= new Dictionary<string, object?>();
        var declared = ParameterNames(template);
        var undeclared = parameters.Keys.Where(k => !declared.Contains(k, StringComparer.Ordinal)).ToList();
        if (undeclared.Count > 0)
            throw new ArgumentException($"The URI template `{template}` does not contain parameter: `{string.Join("`, `", undeclared)}`.");

        var result = new StringBuilder();
        var position = 0;
        foreach (var expression in Expressions(template))
        {
            AppendLiteral(result, template[position..expression.Start]);
            AppendExpression(result, expression.Operator, expression.Variables, parameters);
            position = expression.End;
        }
        AppendLiteral(result, template[position..]);
        return result.ToString();
    }

    sealed record Expression(int Start, int End, Operator Operator, IReadOnlyList<Variable> Variables);

    static IEnumerable<Expression> Expressions(string template)
    {
        var position = 0;
        while (true)
        {
            var open = template.IndexOf('{', position);
            var strayClose = template.IndexOf('}', position);
            if (strayClose >= 0 && (open < 0 || strayClose < open))
                throw new FormatException($"The URI template `{template}` has a `}}` without a `{{`.");
            if (open < 0)
                yield break;
            var close = template.IndexOf('}', open);
            if (close < 0)
                throw new FormatException($"The URI template `{template}` has a `{{` without a `}}`.");
            var body = template[(open + 1)..close];
            if (body.Length == 0 || body.Contains('{'))
                throw new FormatException($"The URI template `{template}` has an empty or nested expression.");
            var op = Operators.GetValueOrDefault(body[0]);
            if (op is not null)
                body = body[1..];
            else if ("=,!@|".Contains(body[0]))
                throw new FormatException($"The URI template `{template}` uses the reserved operator `{body[0]}`.");
            yield return new Expression(open, close + 1, op ?? Simple, [.. body.Split(',').Select(spec => ParseVariable(template, spec))]);
            position = close + 1;
        }
    }

    static Variable ParseVariable(string template, string spec)
    {
        var explode = spec.EndsWith('*');
        if (explode)
            spec = spec[..^1];
        int? prefix = null;
        var colon = spec.IndexOf(':');
        if (colon >= 0)
        {
            if (!int.TryParse(spec[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length is < 1 or > 9999)
                throw new FormatException($"The URI template `{template}` has a malformed prefix in `{spec}`.");
            prefix = length;
            spec = spec[..colon];
        }
        if (spec.Length == 0 || !spec.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '%'))
            throw new FormatException($"The URI template `{template}` has a malformed variable name `{spec}`.");
        return new Variable(spec, prefix, explode);
    }

    static void AppendLiteral(StringBuilder result, string literal)
    {
        foreach (var c in literal)
        {
            if (char.IsAsciiLetterOrDigit(c) || Unreserved.Contains(c) || Reserved.Contains(c) || c == '%')
                result.Append(c);
            else
                AppendEncoded(result, c.ToString());
        }
    }

    static void AppendExpression(StringBuilder result, Operator op, IReadOnlyList<Variable> variables, IReadOnlyDictionary<string, object?> parameters)
    {
        var first = true;
        foreach (var variable in variables)
        {
            if (!parameters.TryGetValue(variable.Name, out var value) || value is null)
                continue;
            var items = ListOf(value);
            if (items is { Count: 0 })
                continue;

            result.Append(first ? op.First : op.Separator.ToString());
            first = false;

            if (items is null)
            {
                var text = Text(value);
                if (variable.Prefix is { } length && text.Length > length)
                    text = text[..length];
                AppendNamed(result, op, variable.Name, text);
            }
            else if (!variable.Explode)
            {
                if (op.Named)
                    result.Append(variable.Name).Append('=');
                result.AppendJoin(',', items.Select(i =>
                    i.Value is null ? Encode(i.Key!, op.AllowReserved) : $"{Encode(i.Key!, op.AllowReserved)},{Encode(i.Value, op.AllowReserved)}"));
            }
            else
            {
                var parts = items.Select(i => i.Value is null
                    ? (op.Named ? $"{variable.Name}={Encode(i.Key!, op.AllowReserved)}" : Encode(i.Key!, op.AllowReserved))
                    : $"{Encode(i.Key!, op.AllowReserved)}={Encode(i.Value, op.AllowReserved)}");
                result.AppendJoin(op.Separator, parts);
            }
        }
    }

    static void AppendNamed(StringBuilder result, Operator op, string name, string text)
    {
        if (op.Named)
        {
            result.Append(name);
            result.Append(text.Length == 0 ? op.IfEmpty : "=");
        }
        result.Append(Encode(text, op.AllowReserved));
    }

    // A list is (item, null) pairs; an associative array is (key, value) pairs; a scalar is null.
    static List<KeyValuePair<string?, string?>>? ListOf(object value) => value switch
    {
        string => null,
        IDictionary dictionary => [.. dictionary.Keys.Cast<object>().Select(k => KeyValuePair.Create<string?, string?>(Text(k), Text(dictionary[k]!)))],
        IEnumerable list => [.. list.Cast<object>().Select(i => KeyValuePair.Create<string?, string?>(Text(i), null))],
        _ => null,
    };

    static string Text(object value) => value switch
    {
        string s => s,
        bool b => b.ToString(),
        DateTime time => time.ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset time => time.ToString("O", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    static string Encode(string text, bool allowReserved)
    {
        var result = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsAsciiLetterOrDigit(c) || Unreserved.Contains(c) || allowReserved && Reserved.Contains(c))
                result.Append(c);
            else if (allowReserved && c == '%' && i + 2 < text.Length && char.IsAsciiHexDigit(text[i + 1]) && char.IsAsciiHexDigit(text[i + 2]))
                result.Append(c);
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length)
            {
                AppendEncoded(result, text.Substring(i, 2));
                i++;
            }
            else
                AppendEncoded(result, c.ToString());
        }
        return result.ToString();
    }

    static void AppendEncoded(StringBuilder result, string text)
    {
        foreach (var b in Encoding.UTF8.GetBytes(text))
            result.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
    }
}

using System.Globalization;
using System.Text;

namespace Seq.Application.Filtering;

/// <summary>
/// Parses the filter language (docs/filter-language.md) into a <see cref="FilterExpression"/>. Hand-written
/// recursive descent (ADR 0020) so that every error names the character position it stopped at.
/// </summary>
public static class FilterParser
{
    /// <summary>Deeper nesting than this is refused rather than risking the stack on hostile input.</summary>
    public const int MaximumDepth = 64;

    /// <summary>More terms than this is refused: a filter is typed by a person, and SQL of unbounded size is not.</summary>
    public const int MaximumTerms = 1000;

    public const int MaximumLength = 20_000;

    // A filter with none of these characters is free text unless it uses `is null`; see docs/filter-language.md.
    const string ExpressionCharacters = "=<>()[]'\"@";

    public static FilterExpression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaximumLength)
            throw new FilterSyntaxException($"a filter may be at most {MaximumLength} characters long.", MaximumLength);
        if (string.IsNullOrWhiteSpace(text))
            throw new FilterSyntaxException("the filter is empty.", 0);
        RejectUnstorableText(text);

        if (text.AsSpan().IndexOfAny(ExpressionCharacters) < 0)
        {
            try
            {
                var words = new Parser(text).ParseFilter();
                if (ContainsIsNull(words))
                    return words;
            }
            catch (FilterSyntaxException)
            {
            }

            return new TextExpression(text.Trim());
        }

        return new Parser(text).ParseFilter();
    }

    // PostgreSQL can hold neither NUL nor a lone UTF-16 surrogate; refusing them here keeps both back-ends total.
    static void RejectUnstorableText(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
                throw new FilterSyntaxException("the filter contains a NUL character.", i);
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
                throw new FilterSyntaxException("the filter contains an unpaired UTF-16 surrogate.", i);
        }
    }

    static bool ContainsIsNull(FilterExpression expression) => expression switch
    {
        IsNullExpression => true,
        NotExpression n => ContainsIsNull(n.Operand),
        AndExpression a => ContainsIsNull(a.Left) || ContainsIsNull(a.Right),
        OrExpression o => ContainsIsNull(o.Left) || ContainsIsNull(o.Right),
        _ => false,
    };

    enum TokenKind
    {
        Identifier,
        BuiltIn,
        String,
        Text,
        Number,
        LeftParen,
        RightParen,
        LeftBracket,
        RightBracket,
        Comma,
        Dot,
        Minus,
        Operator,
        End,
    }

    readonly record struct Token(TokenKind Kind, string Text, int Position, object? Value = null)
    {
        public bool IsKeyword(string keyword) => Kind == TokenKind.Identifier && Text.Equals(keyword, StringComparison.OrdinalIgnoreCase);

        public string Describe() => Kind switch
        {
            TokenKind.End => "the end of the filter",
            TokenKind.String => "a string",
            TokenKind.Text => "a quoted text",
            TokenKind.Number => $"the number {Text}",
            _ => $"'{Text}'",
        };
    }

    sealed class Parser
    {
        static readonly string[] Keywords = ["and", "or", "not", "like", "in", "is", "null", "true", "false", "ci"];

        readonly List<Token> _tokens;
        int _index;
        int _depth;
        int _terms;

        public Parser(string text) => _tokens = Tokenize(text);

        Token Current => _tokens[_index];

        Token Next()
        {
            var token = _tokens[_index];
            if (token.Kind != TokenKind.End)
                _index++;
            return token;
        }

        static FilterSyntaxException Error(string problem, int position) => new(problem, position);

        static FilterSyntaxException Unexpected(Token token, string expected) =>
            Error($"expected {expected} but found {token.Describe()}.", token.Position);

        public FilterExpression ParseFilter()
        {
            var expression = ParseOr();
            if (Current.Kind != TokenKind.End)
                throw Unexpected(Current, "an operator such as 'and' or 'or'");
            return expression;
        }

        FilterExpression ParseOr()
        {
            var left = ParseAnd();
            while (Current.IsKeyword("or"))
            {
                Next();
                left = new OrExpression(left, ParseAnd());
            }
            return left;
        }

        FilterExpression ParseAnd()
        {
            var left = ParseNot();
            while (Current.IsKeyword("and"))
            {
                Next();
                left = new AndExpression(left, ParseNot());
            }
            return left;
        }

        FilterExpression ParseNot()
        {
            if (!Current.IsKeyword("not"))
                return ParseComparison();

            var token = Next();
            Enter(token);
            var operand = ParseNot();
            _depth--;
            return new NotExpression(operand);
        }

        void Enter(Token token)
        {
            if (++_depth > MaximumDepth)
                throw Error($"the filter nests deeper than {MaximumDepth} levels.", token.Position);
        }

        void CountTerm(Token token)
        {
            if (++_terms > MaximumTerms)
                throw Error($"the filter has more than {MaximumTerms} terms.", token.Position);
        }

        FilterExpression ParseComparison()
        {
            var leftStart = Current.Position;
            var left = ParseOperand();
            var token = Current;
            if (token.Kind == TokenKind.Operator || token.IsKeyword("like") || token.IsKeyword("in") || token.IsKeyword("is"))
                EnsureValue(left, leftStart);

            if (token.Kind == TokenKind.Operator)
            {
                Next();
                var op = token.Text switch
                {
                    "=" => ComparisonOperator.Equal,
                    "<>" => ComparisonOperator.NotEqual,
                    "<" => ComparisonOperator.LessThan,
                    "<=" => ComparisonOperator.LessThanOrEqual,
                    ">" => ComparisonOperator.GreaterThan,
                    _ => ComparisonOperator.GreaterThanOrEqual,
                };
                var right = ParseValue();
                return new ComparisonExpression(op, left, right, ParseCaseInsensitive());
            }

            if (token.IsKeyword("like"))
            {
                Next();
                var pattern = Next();
                if (pattern.Kind != TokenKind.String)
                    throw Unexpected(pattern, "a 'pattern' in single quotes after 'like'");
                return new LikeExpression(left, (string)pattern.Value!, ParseCaseInsensitive());
            }

            if (token.IsKeyword("in"))
            {
                Next();
                var open = Next();
                if (open.Kind != TokenKind.LeftBracket)
                    throw Unexpected(open, "'[' after 'in'");
                var candidates = new List<FilterExpression>();
                if (Current.Kind != TokenKind.RightBracket)
                {
                    candidates.Add(ParseValue());
                    while (Current.Kind == TokenKind.Comma)
                    {
                        Next();
                        candidates.Add(ParseValue());
                    }
                }
                var close = Next();
                if (close.Kind != TokenKind.RightBracket)
                    throw Unexpected(close, "',' or ']'");
                return new InExpression(left, candidates, ParseCaseInsensitive());
            }

            if (token.IsKeyword("is"))
            {
                Next();
                var negated = Current.IsKeyword("not");
                if (negated)
                    Next();
                var nullToken = Next();
                if (!nullToken.IsKeyword("null"))
                    throw Unexpected(nullToken, negated ? "'null' after 'is not'" : "'null' or 'not null' after 'is'");
                FilterExpression isNull = new IsNullExpression(left);
                return negated ? new NotExpression(isNull) : isNull;
            }

            return left;
        }

        // Comparisons take values, not conditions: that keeps the SQL translation linear in the filter's size.
        FilterExpression ParseValue()
        {
            var start = Current.Position;
            var value = ParseOperand();
            EnsureValue(value, start);
            return value;
        }

        static void EnsureValue(FilterExpression operand, int position)
        {
            if (operand is not (ConstantExpression or PropertyExpression or BuiltInExpression))
                throw Error("a comparison needs a property or a literal value on each side, not a condition.", position);
        }

        bool ParseCaseInsensitive()
        {
            if (!Current.IsKeyword("ci"))
                return false;
            Next();
            return true;
        }

        FilterExpression ParseOperand()
        {
            var token = Next();
            CountTerm(token);
            switch (token.Kind)
            {
                case TokenKind.LeftParen:
                {
                    Enter(token);
                    var inner = ParseOr();
                    _depth--;
                    var close = Next();
                    if (close.Kind != TokenKind.RightParen)
                        throw Unexpected(close, "')'");
                    return inner;
                }
                case TokenKind.String:
                    return new ConstantExpression(token.Value);
                case TokenKind.Number:
                    return new ConstantExpression(token.Value);
                case TokenKind.Minus:
                {
                    var number = Next();
                    if (number.Kind != TokenKind.Number)
                        throw Unexpected(number, "a number after '-'");
                    return new ConstantExpression(-(decimal)number.Value!);
                }
                case TokenKind.Text:
                    return new TextExpression((string)token.Value!);
                case TokenKind.BuiltIn:
                    return ParseBuiltIn(token);
                case TokenKind.Identifier:
                    return ParseIdentifier(token);
                default:
                    throw Unexpected(token, "a property, a value or '('");
            }
        }

        FilterExpression ParseBuiltIn(Token token)
        {
            var name = token.Text[1..];
            if (name.Equals("Properties", StringComparison.OrdinalIgnoreCase))
            {
                var path = new List<string>();
                ParseAccessors(path);
                if (path.Count == 0)
                    throw Unexpected(Current, "'.' or '[' after @Properties");
                return new PropertyExpression(path);
            }

            BuiltInProperty? property = name.ToLowerInvariant() switch
            {
                "timestamp" => BuiltInProperty.Timestamp,
                "level" => BuiltInProperty.Level,
                "message" => BuiltInProperty.Message,
                "messagetemplate" => BuiltInProperty.MessageTemplate,
                "eventtype" => BuiltInProperty.EventType,
                "exception" => BuiltInProperty.Exception,
                "traceid" => BuiltInProperty.TraceId,
                "spanid" => BuiltInProperty.SpanId,
                _ => null,
            };
            if (property is null)
                throw Error($"'{token.Text}' is not a built-in property; the built-ins are @Timestamp, @Level, @Message, @MessageTemplate, @EventType, @Exception, @TraceId, @SpanId and @Properties.", token.Position);
            return new BuiltInExpression(property.Value);
        }

        FilterExpression ParseIdentifier(Token token)
        {
            if (token.IsKeyword("null"))
                return new ConstantExpression(null);
            if (token.IsKeyword("true"))
                return new ConstantExpression(true);
            if (token.IsKeyword("false"))
                return new ConstantExpression(false);
            if (Keywords.Contains(token.Text.ToLowerInvariant()))
                throw Unexpected(token, "a property, a value or '('");

            if (Current.Kind == TokenKind.LeftParen)
            {
                if (token.Text.Equals("Has", StringComparison.OrdinalIgnoreCase))
                {
                    var open = Next();
                    Enter(open);
                    var subject = ParseOperand();
                    if (subject is not (PropertyExpression or BuiltInExpression))
                        throw Error("Has() takes a property, such as Has(RequestId) or Has(@Exception).", open.Position + 1);
                    _depth--;
                    var close = Next();
                    if (close.Kind != TokenKind.RightParen)
                        throw Unexpected(close, "')'");
                    return new HasExpression(subject);
                }

                if (token.Text.Equals("DateTime", StringComparison.OrdinalIgnoreCase))
                {
                    Next();
                    var argument = Next();
                    if (argument.Kind != TokenKind.String)
                        throw Unexpected(argument, "a date and time in single quotes, such as DateTime('2024-05-01T00:00:00Z')");
                    if (!DateTimeOffset.TryParse((string)argument.Value!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
                        throw Error("DateTime() needs an ISO 8601 date and time, such as '2024-05-01T00:00:00Z'.", argument.Position);
                    var close = Next();
                    if (close.Kind != TokenKind.RightParen)
                        throw Unexpected(close, "')'");
                    return new ConstantExpression(instant.ToUniversalTime());
                }

                throw Error($"'{token.Text}' is not a function; the functions are Has() and DateTime().", token.Position);
            }

            var path = new List<string> { token.Text };
            ParseAccessors(path);
            return new PropertyExpression(path);
        }

        void ParseAccessors(List<string> path)
        {
            while (true)
            {
                if (Current.Kind == TokenKind.Dot)
                {
                    Next();
                    var name = Next();
                    if (name.Kind != TokenKind.Identifier)
                        throw Unexpected(name, "a property name after '.'");
                    path.Add(name.Text);
                }
                else if (Current.Kind == TokenKind.LeftBracket)
                {
                    Next();
                    var name = Next();
                    if (name.Kind != TokenKind.String)
                        throw Unexpected(name, "a property name in single quotes, such as ['name']");
                    var close = Next();
                    if (close.Kind != TokenKind.RightBracket)
                        throw Unexpected(close, "']'");
                    path.Add((string)name.Value!);
                }
                else
                {
                    return;
                }
            }
        }

        static List<Token> Tokenize(string text)
        {
            var tokens = new List<Token>();
            var i = 0;
            while (true)
            {
                while (i < text.Length && char.IsWhiteSpace(text[i]))
                    i++;
                if (i >= text.Length)
                {
                    tokens.Add(new Token(TokenKind.End, "", text.Length));
                    return tokens;
                }

                var start = i;
                var c = text[i];
                switch (c)
                {
                    case '(': tokens.Add(new Token(TokenKind.LeftParen, "(", i++)); continue;
                    case ')': tokens.Add(new Token(TokenKind.RightParen, ")", i++)); continue;
                    case '[': tokens.Add(new Token(TokenKind.LeftBracket, "[", i++)); continue;
                    case ']': tokens.Add(new Token(TokenKind.RightBracket, "]", i++)); continue;
                    case ',': tokens.Add(new Token(TokenKind.Comma, ",", i++)); continue;
                    case '.': tokens.Add(new Token(TokenKind.Dot, ".", i++)); continue;
                    case '-': tokens.Add(new Token(TokenKind.Minus, "-", i++)); continue;
                    case '=': tokens.Add(new Token(TokenKind.Operator, "=", i++)); continue;
                    case '<':
                        i++;
                        if (i < text.Length && (text[i] == '=' || text[i] == '>'))
                            i++;
                        tokens.Add(new Token(TokenKind.Operator, text[start..i], start));
                        continue;
                    case '>':
                        i++;
                        if (i < text.Length && text[i] == '=')
                            i++;
                        tokens.Add(new Token(TokenKind.Operator, text[start..i], start));
                        continue;
                    case '\'':
                        tokens.Add(new Token(TokenKind.String, "'", start, ReadSingleQuoted(text, ref i)));
                        continue;
                    case '"':
                        tokens.Add(new Token(TokenKind.Text, "\"", start, ReadDoubleQuoted(text, ref i)));
                        continue;
                    case '@':
                        i++;
                        while (i < text.Length && IsIdentifierPart(text[i]))
                            i++;
                        if (i == start + 1)
                            throw Error("expected a built-in property name after '@'.", start);
                        tokens.Add(new Token(TokenKind.BuiltIn, text[start..i], start));
                        continue;
                }

                if (char.IsAsciiDigit(c))
                {
                    tokens.Add(ReadNumber(text, ref i));
                    continue;
                }

                if (char.IsLetter(c) || c == '_')
                {
                    while (i < text.Length && IsIdentifierPart(text[i]))
                        i++;
                    tokens.Add(new Token(TokenKind.Identifier, text[start..i], start));
                    continue;
                }

                throw Error($"the character '{Printable(c)}' is not part of the filter language.", start);
            }
        }

        static string Printable(char c) => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString();

        static bool IsIdentifierPart(char c) => char.IsLetterOrDigit(c) || c == '_';

        static Token ReadNumber(string text, ref int i)
        {
            var start = i;
            if (text[i] == '0' && i + 1 < text.Length && (text[i + 1] == 'x' || text[i + 1] == 'X'))
            {
                i += 2;
                var digits = i;
                while (i < text.Length && char.IsAsciiHexDigit(text[i]))
                    i++;
                if (i == digits || i - digits > 16 || !ulong.TryParse(text.AsSpan(digits, i - digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
                    throw Error("expected up to 16 hexadecimal digits after '0x'.", start);
                EnsureSeparated(text, i);
                return new Token(TokenKind.Number, text[start..i], start, (decimal)hex);
            }

            while (i < text.Length && char.IsAsciiDigit(text[i]))
                i++;
            if (i + 1 < text.Length && text[i] == '.' && char.IsAsciiDigit(text[i + 1]))
            {
                i++;
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                    i++;
            }
            if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
            {
                var exponent = i + 1;
                if (exponent < text.Length && (text[exponent] == '+' || text[exponent] == '-'))
                    exponent++;
                if (exponent < text.Length && char.IsAsciiDigit(text[exponent]))
                {
                    i = exponent;
                    while (i < text.Length && char.IsAsciiDigit(text[i]))
                        i++;
                }
            }
            EnsureSeparated(text, i);

            var literal = text[start..i];
            if (!decimal.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw Error($"the number {literal} is out of range.", start);
            return new Token(TokenKind.Number, literal, start, value);
        }

        static void EnsureSeparated(string text, int i)
        {
            if (i < text.Length && IsIdentifierPart(text[i]))
                throw Error($"unexpected '{Printable(text[i])}' after a number.", i);
        }

        static string ReadSingleQuoted(string text, ref int i)
        {
            var start = i++;
            var value = new StringBuilder();
            while (true)
            {
                if (i >= text.Length)
                    throw Error("this string is not closed with a single quote (').", start);
                if (text[i] == '\'')
                {
                    if (i + 1 < text.Length && text[i + 1] == '\'')
                    {
                        value.Append('\'');
                        i += 2;
                        continue;
                    }
                    i++;
                    return value.ToString();
                }
                value.Append(text[i++]);
            }
        }

        static string ReadDoubleQuoted(string text, ref int i)
        {
            var start = i++;
            var value = new StringBuilder();
            while (true)
            {
                if (i >= text.Length)
                    throw Error("this text is not closed with a double quote (\").", start);
                var c = text[i];
                if (c == '"')
                {
                    i++;
                    return value.ToString();
                }
                if (c == '\\' && i + 1 < text.Length && (text[i + 1] == '"' || text[i + 1] == '\\'))
                {
                    value.Append(text[i + 1]);
                    i += 2;
                    continue;
                }
                value.Append(c);
                i++;
            }
        }
    }
}

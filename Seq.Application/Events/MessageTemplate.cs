using System.Text;
using System.Text.Json;

namespace Seq.Application.Events;

/// <summary>One piece of a message template: literal text, or a hole naming a property.</summary>
public sealed record TemplateToken(string? Text, string? PropertyName, string? RawText, string? Format);

/// <summary>Serilog message templates: their tokens, their rendering, and the event type hashed from their text.</summary>
public static class MessageTemplate
{
    public static IReadOnlyList<TemplateToken> Tokenize(string template)
    {
        var tokens = new List<TemplateToken>();
        var text = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            var c = template[i];
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '{') { text.Append('{'); i += 2; continue; }
            if (c == '}' && i + 1 < template.Length && template[i + 1] == '}') { text.Append('}'); i += 2; continue; }
            if (c == '{')
            {
                var close = template.IndexOf('}', i + 1);
                var inner = close < 0 ? null : template[(i + 1)..close];
                if (inner is not null && HoleName(inner) is var (name, format) && name is not null)
                {
                    if (text.Length > 0) { tokens.Add(new TemplateToken(text.ToString(), null, null, null)); text.Clear(); }
                    tokens.Add(new TemplateToken(null, name, template[i..(close + 1)], format));
                    i = close + 1;
                    continue;
                }
            }
            text.Append(c);
            i++;
        }
        if (text.Length > 0)
            tokens.Add(new TemplateToken(text.ToString(), null, null, null));
        return tokens;
    }

    static (string? Name, string? Format) HoleName(string inner)
    {
        var body = inner.StartsWith('@') || inner.StartsWith('$') ? inner[1..] : inner;
        var end = body.IndexOfAny([',', ':']);
        var name = end < 0 ? body : body[..end];
        if (name.Length == 0 || !name.All(ch => char.IsLetterOrDigit(ch) || ch is '_' or '.'))
            return (null, null);
        var colon = body.IndexOf(':');
        return (name, colon < 0 ? null : body[(colon + 1)..]);
    }

    /// <summary>
    /// The message as Serilog renders it: a hole with a format takes the next of <paramref name="renderings"/> (the
    /// <c>@r</c> array) when there is one; strings are quoted unless formatted <c>l</c>; a missing property stays a hole.
    /// </summary>
    public static string Render(string template, Func<string, JsonElement?> property, string? renderings)
    {
        List<string>? rendered = null;
        if (renderings is not null)
        {
            using var document = JsonDocument.Parse(renderings);
            rendered = [.. document.RootElement.EnumerateArray().Select(r => r.GetString() ?? "")];
        }
        var next = 0;
        var output = new StringBuilder(template.Length + 32);
        foreach (var token in Tokenize(template))
        {
            if (token.Text is not null) { output.Append(token.Text); continue; }
            if (token.Format is not null && rendered is not null && next < rendered.Count)
            {
                output.Append(rendered[next++]);
                continue;
            }
            output.Append(property(token.PropertyName!) is { } value ? Format(value, token.Format) : token.RawText);
        }
        return output.ToString();
    }

    public static string Format(JsonElement value, string? format) => value.ValueKind switch
    {
        JsonValueKind.String when format is not null && format.Contains('l') => value.GetString()!,
        JsonValueKind.String => JsonSerializer.Serialize(value.GetString()),
        JsonValueKind.True => "True",
        JsonValueKind.False => "False",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "[" + string.Join(", ", value.EnumerateArray().Select(item => Format(item, null))) + "]",
        JsonValueKind.Object => Structure(value),
        _ => value.GetRawText(),
    };

    // Serilog's rendering of a structure: its type tag (CLEF's "$type"), then { Name: value, … }.
    static string Structure(JsonElement value)
    {
        var members = value.EnumerateObject().Where(m => m.Name != "$type").Select(m => $"{m.Name}: {Format(m.Value, null)}").ToList();
        var body = members.Count == 0 ? "{ }" : "{ " + string.Join(", ", members) + " }";
        return value.TryGetProperty("$type", out var tag) && tag.ValueKind == JsonValueKind.String ? tag.GetString() + " " + body : body;
    }

    /// <summary>The event type Seq derives from a template: the 32-bit Murmur3 hash of its UTF-8 text.</summary>
    public static uint EventTypeOf(string template)
    {
        var data = Encoding.UTF8.GetBytes(template);
        const uint c1 = 0xcc9e2d51, c2 = 0x1b873593;
        uint h = 0;
        var blocks = data.Length / 4;
        for (var b = 0; b < blocks; b++)
        {
            var k = BitConverter.ToUInt32(data, b * 4);
            k *= c1; k = uint.RotateLeft(k, 15); k *= c2;
            h ^= k; h = uint.RotateLeft(h, 13); h = h * 5 + 0xe6546b64;
        }
        uint tail = 0;
        var rest = data.Length & 3;
        for (var r = rest - 1; r >= 0; r--)
            tail = (tail << 8) | data[blocks * 4 + r];
        if (rest > 0)
        {
            tail *= c1; tail = uint.RotateLeft(tail, 15); tail *= c2; h ^= tail;
        }
        h ^= (uint)data.Length;
        h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13; h *= 0xc2b2ae35; h ^= h >> 16;
        return h;
    }
}

using System.Text;
using System.Text.Json;
using Seq.Application.Events;

namespace Seq.Tests.Events;

/// <summary>
/// The one-pass parser (ADR 0041) against the JsonDocument parser it replaced, on valid and mutated lines: the same
/// events, or a refusal of the same line.
/// </summary>
public sealed class ClefParserEquivalenceTests
{
    static readonly string[] Seeds =
    [
        """{"@t":"2003-04-05T06:07:08.1234567Z","@mt":"Hello {Name} {N:000} {O} {Missing} {B} {Nu} {Arr}","@r":["007"],"Name":"x","N":7,"@l":"Warning","@x":"boom","@i":"ab12","@tr":"0af7651916cd43dd8448eb211c80319c","@sp":"b7ad6b7169203331","@@a":1,"O":{"A":[1,{"B":null}],"$type":"T"},"B":true,"Nu":null,"Arr":[1,"a"]}""",
        """{"@t":"2003-04-05T06:07:08+02:00","@m":"rendered","Big":12345678901234567890,"F":1.5e10,"U":"\u00e9\u4e2d\ud83d\ude00"}""",
        """{"@t":"2003-04-05T06:07:08","@mt":"A {X:l} {X} {@Y} {$Z}","X":"q\"<>&","Y":{"k":[]},"Z":"z","@st":"2003-04-05T06:07:07Z","@ps":"p","@sk":"Server","@i":17}""",
        """{"@t":"2003-04-05 06:07:08.1234567+00:00","@mt":"x {Name} {Name}","Name":"é","@@t":"escaped","@q":"unknown","\u0040l":"dbg","Name":"second"}""",
    ];

    const string Alphabet = "{}[]\",:\\@tlmx0 \u0000\ud800\n";

    static string Mutate(Random random, string text)
    {
        var chars = new StringBuilder(text);
        var edits = random.Next(1, 4);
        for (var i = 0; i < edits && chars.Length > 0; i++)
        {
            var at = random.Next(chars.Length);
            switch (random.Next(7))
            {
                case 0: chars.Remove(at, 1); break;
                case 1: chars.Insert(at, Alphabet[random.Next(Alphabet.Length)]); break;
                case 2: chars[at] = (char)random.Next(0, 0x3000); break;
                case 3: chars.Insert(at, text[..random.Next(text.Length)]); break;
                case 4: chars.Insert(at, "\\u0000"); break;
                case 5: chars.Insert(at, "\\u0041"); break;
                default: chars.Insert(at, random.Next(2) == 0 ? "\\ud800" : "1e400"); break;
            }
        }
        return chars.ToString();
    }

    static string Outcome(Func<List<LogEvent>> parse)
    {
        try
        {
            return string.Join("\n", parse().Select(Describe));
        }
        catch (PayloadValidationException e)
        {
            return $"refused line {e.Line}";
        }
    }

    // The properties compared as JSON values (the texts differ in escaping; storage keeps the value).
    static string Describe(LogEvent e)
    {
        using var properties = JsonDocument.Parse(e.PropertiesJson);
        var values = properties.RootElement.EnumerateObject().GroupBy(p => p.Name)
            .Select(g => g.Key + "=" + JsonSerializer.Serialize(g.Last().Value)).Order(StringComparer.Ordinal);
        return $"{e.Timestamp:O}|{e.Level}|{e.MessageTemplate}|{e.RenderedMessage}|{e.Exception}|{e.EventType}|{e.TraceId}|{e.SpanId}|" +
            $"{e.ParentSpanId}|{e.SpanStart:O}|{e.SpanKind}|{e.Renderings}|{string.Join(",", values)}";
    }

    // The old parser checked only the last value of a repeated name; the new one checks every value it reads.
    static bool HasRepeatedName(byte[] line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.EnumerateObject().GroupBy(p => p.Name).Any(g => g.Count() > 1);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    [Fact]
    public void The_one_pass_parser_stores_and_refuses_what_the_document_parser_did()
    {
        var random = new Random(20261202);
        List<KeyValuePair<string, string?>> applied = [new("Name", "applied"), new("Nothing", null)];
        var accepted = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var text = i < Seeds.Length ? Seeds[i] : Mutate(random, Seeds[random.Next(Seeds.Length)]);
            var bytes = Encoding.UTF8.GetBytes(text);
            if (random.Next(20) == 0)
                bytes[random.Next(bytes.Length)] = (byte)random.Next(0x80, 0x100);
            var properties = i % 3 == 0 ? applied : [];
            var expected = Outcome(() => ClefParserReference.Parse(bytes, 1 << 20, properties));
            var actual = Outcome(() => ClefParser.Parse(bytes, 1 << 20, properties));
            if (actual != expected && !(actual == "refused line 1" && HasRepeatedName(bytes)))
                actual.ShouldBe(expected, $"line {Convert.ToBase64String(bytes)}");
            if (!expected.StartsWith("refused", StringComparison.Ordinal))
                accepted++;
        }
        accepted.ShouldBeGreaterThan(1000, "the mutations leave enough lines valid to compare what is stored");
    }

    [Fact]
    public void A_repeated_name_keeps_its_last_value_and_applied_properties_win()
    {
        var line = """{"@t":"2003-04-05T06:07:08Z","@mt":"{A} {B}","A":1,"B":"first","A":{"x":[2]},"@@B":"escaped"}"""u8.ToArray();
        var e = ClefParser.Parse(line, 1 << 20, [new("B", "applied")]).ShouldHaveSingleItem();
        e.RenderedMessage.ShouldBe("{ x: [2] } \"applied\"");
        using var properties = JsonDocument.Parse(e.PropertiesJson);
        properties.RootElement.EnumerateObject().Select(p => p.Name + "=" + p.Value.GetRawText())
            .ShouldBe(["A={\"x\":[2]}", "@B=\"escaped\"", "B=\"applied\""]);
    }
}

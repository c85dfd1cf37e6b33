using System.Net;
using System.Text;

namespace Seq.Tests.Events;

/// <summary>Random and mutated bodies against the ingestion endpoint: every answer is 201, 400 or 413, never a 500.</summary>
public sealed class IngestionFuzzTests(EventServerFixture fixture) : IClassFixture<EventServerFixture>
{
    static readonly string[] Seeds =
    [
        """{"@t":"2003-04-05T06:07:08.1234567Z","@mt":"Hello {Name} {N:000}","@r":["007"],"Name":"x","N":7,"@l":"Warning","@x":"boom","@i":"ab12","@tr":"0af7651916cd43dd8448eb211c80319c","@sp":"b7ad6b7169203331","@@a":1,"O":{"A":[1,{"B":null}]}}""",
        """{"@t":"2003-04-05T06:07:08+02:00","@m":"rendered","Big":12345678901234567890,"F":1.5e10,"U":"\u00e9\u4e2d\ud83d\ude00"}""",
    ];

    const string Alphabet = "{}[]\",:\\@tlmx0\u0000\ud800\n";

    static string Mutate(Random random, string text)
    {
        var chars = new StringBuilder(text);
        var edits = random.Next(1, 6);
        for (var i = 0; i < edits && chars.Length > 0; i++)
        {
            var at = random.Next(chars.Length);
            switch (random.Next(6))
            {
                case 0: chars.Remove(at, 1); break;
                case 1: chars.Insert(at, Alphabet[random.Next(Alphabet.Length)]); break;
                case 2: chars[at] = (char)random.Next(0, 0x3000); break;
                case 3: chars.Insert(at, text[..random.Next(text.Length)]); break;
                case 4: chars.Insert(at, "\\u0000"); break;
                default: chars.Insert(at, random.Next(2) == 0 ? "\\ud800" : "1e400"); break;
            }
        }
        return chars.ToString();
    }

    [Fact]
    public async Task Random_and_mutated_bodies_never_get_a_server_error()
    {
        var random = new Random(20261201);
        using var client = fixture.Server.ApiKeyClient(fixture.IngestKey);
        var statuses = new Dictionary<HttpStatusCode, int>();
        for (var i = 0; i < 200; i++)
        {
            byte[] body = (i % 4) switch
            {
                0 => RandomBytes(random),
                _ => Encoding.UTF8.GetBytes(string.Join("\n", Enumerable.Range(0, random.Next(1, 4)).Select(_ => Mutate(random, Seeds[random.Next(Seeds.Length)])))),
            };
            using var content = new ByteArrayContent(body);
            content.Headers.TryAddWithoutValidation("Content-Type", "application/vnd.serilog.clef");
            using var response = await client.PostAsync("/api/events/raw", content);
            var text = await response.Content.ReadAsStringAsync();
            ((int)response.StatusCode).ShouldBeOneOf([201, 400], $"body {Convert.ToBase64String(body)} got {text}");
            if (response.StatusCode == HttpStatusCode.BadRequest)
                text.ShouldStartWith("""{"Error":""");
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
        }
        statuses.Keys.ShouldBe([HttpStatusCode.Created, HttpStatusCode.BadRequest], ignoreOrder: true);
    }

    static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 2000)];
        random.NextBytes(bytes);
        return bytes;
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Auditing;

/// <summary>
/// <see cref="AuditLineReader"/> on a line the real <see cref="AuditLog"/> wrote and on that line broken one property at a
/// time: what it reads, and the schema problem it names for each break (which the verifier reports as Invalid).
/// </summary>
public sealed class AuditLineReaderTests
{
    static readonly Lazy<Task<string>> Written = new(WriteAsync);

    sealed class OneLine : IAuditTarget
    {
        public string? Line { get; private set; }
        public string Description => "memory";
        public AuditTargetState State => AuditTargetState.Available;
        public string? Problem => null;
        public string? Refusal => null;
        public long QueuedLines => 0;
        public long QueuedBytes => 0;
        public long DurableLines => Line is null ? 0 : 1;

        public Task Enqueue(byte[] line, bool blocking)
        {
            Line ??= Encoding.UTF8.GetString(line).TrimEnd('\n');
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    static async Task<string> WriteAsync()
    {
        var target = new OneLine();
        await using (var log = new AuditLog(target, new AuditSession("readersession"), SecretKey.Generate(), TimeProvider.System))
            await log.WriteAsync(new AuditEntry("Test", "Read", AuditEventKind.Fail, Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), "Read {Number}",
                [new("Number", 1)], "System.InvalidOperationException: no"), Principal.Anonymous, null, CancellationToken.None);
        return target.Line!;
    }

    static AuditLine Read(string line, bool full = true) => AuditLineReader.Read("f.ndjson", 7, Encoding.UTF8.GetBytes(line), full);

    /// <summary>The written line with <paramref name="change"/> applied, its <c>AuditChain</c> kept last.</summary>
    static async Task<string> ChangedAsync(Action<JsonObject> change)
    {
        var node = JsonNode.Parse(await Written.Value)!.AsObject();
        var chain = node["AuditChain"]!.GetValue<string>();
        node.Remove("AuditChain");
        change(node);
        node["AuditChain"] = chain;
        return node.ToJsonString();
    }

    [Fact]
    public async Task A_written_line_reads_with_every_property_and_no_problem()
    {
        var text = await Written.Value;

        var line = Read(text);

        line.ShouldSatisfyAllConditions(
            l => l.File.ShouldBe("f.ndjson"),
            l => l.LineNumber.ShouldBe(7),
            l => l.IsTorn.ShouldBeFalse(),
            l => l.SchemaProblem.ShouldBeNull(),
            l => l.IsEvent.ShouldBeTrue(),
            l => l.IsContinuation.ShouldBeFalse(),
            l => l.AuditSession.ShouldBe("readersession"),
            l => l.SequenceNumber.ShouldBe(1),
            l => l.Category.ShouldBe("Test"),
            l => l.Operation.ShouldBe("Read"),
            l => l.Event.ShouldBe("Fail"),
            l => l.OperationId.ShouldBe("0f8fad5b-d9cb-469f-a165-70867728950e"),
            l => l.HasOperationId.ShouldBeTrue(),
            l => l.Principal.ShouldBe(Principal.Anonymous.Name),
            l => l.PrincipalType.ShouldBe("Public"),
            l => l.MessageTemplate.ShouldBe("Read {Number}"),
            l => l.Message.ShouldBe("Read 1"),
            l => l.EventType.ShouldBe(AuditLog.EventTypeOf("Read {Number}")),
            l => l.Exception.ShouldBe("System.InvalidOperationException: no"),
            l => l.Timestamp.ShouldBe(JsonNode.Parse(text)!["@t"]!.GetValue<string>()),
            l => l.Time.ShouldBe(DateTimeOffset.Parse(JsonNode.Parse(text)!["@t"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)),
            l => l.PrefixLength.ShouldBe(text.LastIndexOf(",\"AuditChain\":\"", StringComparison.Ordinal)),
            l => l.HasChain64.ShouldBeTrue(),
            l => l.Chain.ShouldBe(JsonNode.Parse(text)!["AuditChain"]!.GetValue<string>()));
        line.TryGetOperationGuid(out var id).ShouldBeTrue();
        id.ShouldBe(Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"));
        var chain = new byte[32];
        line.TryGetChain(chain).ShouldBeTrue();
        chain.ShouldBe(Convert.FromHexString(line.Chain!));

        // Verification skips what only a timeline shows.
        var brief = Read(text, full: false);
        brief.ShouldSatisfyAllConditions(l => l.Message.ShouldBe(""), l => l.Exception.ShouldBe(""), l => l.Timestamp.ShouldBe(""),
            l => l.SchemaProblem.ShouldBeNull(), l => l.Time.ShouldBe(line.Time));
    }

    public static TheoryData<string, string> Breaks => new()
    {
        { "remove @t", "@t is missing" },
        { "@t=\"yesterday\"", "@t is not a time" },
        { "remove @mt", "@mt is missing" },
        { "remove @m", "@m is missing" },
        { "remove @i", "@i is missing" },
        { "remove AuditSession", "AuditSession is missing" },
        { "remove SequenceNumber", "SequenceNumber is missing" },
        { "SequenceNumber=0", "SequenceNumber is less than 1" },
        { "SequenceNumber=\"1\"", "SequenceNumber is not a whole number" },
        { "SequenceNumber=1.5", "SequenceNumber is not a whole number" },
        { "remove Principal", "Principal is missing" },
        { "remove PrincipalType", "PrincipalType is not User, ApiKey or Public" },
        { "PrincipalType=\"Robot\"", "PrincipalType is not User, ApiKey or Public" },
        { "remove Category", "Category is missing" },
        { "Category=5", "Category is not text" },
        { "Category=null", "Category is not text" },
        { "remove Operation", "Operation is missing" },
        { "OperationId=\"nope\"", "OperationId is not a GUID" },
        { "remove OperationId", "OperationId is not a GUID" },
        { "Event=\"Explode\"", "Event is not one of Begin, Complete, Abandon, Fail, Advise, Record" },
        { "remove Event", "Event is not one of Begin, Complete, Abandon, Fail, Advise, Record" },
        { "@i=\"deadbeef\"", "@i is deadbeef, but @mt's event type is " + AuditLog.EventTypeOf("Read {Number}") },
        { "PrincipalId=5", "PrincipalId is not text or null" },
        { "OnBehalfOfUserId=[]", "OnBehalfOfUserId is not text or null" },
        { "XForwardedFor=[1]", "XForwardedFor holds something other than text" },
        { "XForwardedFor=\"a\"", "XForwardedFor is neither a list nor null" },
        { "HttpRequestPath=5", "HttpRequestPath is not text or null" },
    };

    [Theory]
    [MemberData(nameof(Breaks))]
    public async Task A_line_broken_in_one_property_names_that_property(string change, string problem)
    {
        var text = await ChangedAsync(node =>
        {
            if (change.StartsWith("remove ", StringComparison.Ordinal))
                node.Remove(change["remove ".Length..]).ShouldBeTrue();
            else
            {
                var (name, value) = (change[..change.IndexOf('=', StringComparison.Ordinal)], change[(change.IndexOf('=', StringComparison.Ordinal) + 1)..]);
                node[name] = JsonNode.Parse(value);
            }
        });

        var line = Read(text);

        line.IsTorn.ShouldBeFalse();
        line.SchemaProblem.ShouldBe(problem);
        Read(text, full: false).SchemaProblem.ShouldBe(problem);
    }

    [Fact]
    public async Task Allowed_variations_of_a_line_read_without_a_problem()
    {
        // Another GUID spelling is a GUID still, kept as the text it is.
        var upper = Read(await ChangedAsync(n => n["OperationId"] = "0F8FAD5B-D9CB-469F-A165-70867728950E"));
        upper.SchemaProblem.ShouldBeNull();
        upper.OperationId.ShouldBe("0F8FAD5B-D9CB-469F-A165-70867728950E");
        upper.TryGetOperationGuid(out _).ShouldBeFalse();
        Read(await ChangedAsync(n => n["XForwardedFor"] = new JsonArray("10.0.0.1", "10.0.0.2"))).SchemaProblem.ShouldBeNull();
        Read(await ChangedAsync(n => n["XForwardedFor"] = null)).SchemaProblem.ShouldBeNull();
        Read(await ChangedAsync(n => n["PrincipalType"] = "User")).SchemaProblem.ShouldBeNull();
        Read(await ChangedAsync(n => n["PrincipalType"] = "ApiKey")).SchemaProblem.ShouldBeNull();
        foreach (var kind in new[] { "Begin", "Complete", "Abandon", "Advise", "Record" })
            Read(await ChangedAsync(n => n["Event"] = kind)).SchemaProblem.ShouldBeNull();
        var request = Read(await ChangedAsync(n =>
        {
            n["HttpRequestMethod"] = "PUT";
            n["HttpRequestPath"] = "/api/settings";
            n["RemoteIPAddress"] = "10.1.2.3";
            n["PrincipalId"] = null;
        }));
        request.ShouldSatisfyAllConditions(l => l.SchemaProblem.ShouldBeNull(), l => l.HttpRequestMethod.ShouldBe("PUT"), l => l.HttpRequestPath.ShouldBe("/api/settings"),
            l => l.RemoteIPAddress.ShouldBe("10.1.2.3"), l => l.PrincipalId.ShouldBeNull());
        Read(await Written.Value + " \r").ShouldSatisfyAllConditions(l => l.IsTorn.ShouldBeFalse(), l => l.SchemaProblem.ShouldBeNull());
    }

    [Fact]
    public async Task A_chain_value_that_is_not_64_lowercase_hex_digits_or_not_last_is_a_problem()
    {
        var text = await Written.Value;
        var chain = JsonNode.Parse(text)!["AuditChain"]!.GetValue<string>();

        var upper = Read(text.Replace(chain, chain.ToUpperInvariant(), StringComparison.Ordinal));
        upper.HasChain64.ShouldBeTrue();
        upper.Chain.ShouldBe(chain.ToUpperInvariant());
        upper.TryGetChain(new byte[32]).ShouldBeTrue("still hex, though not as written");

        var notHex = Read(text.Replace(chain, new string('z', 64), StringComparison.Ordinal));
        notHex.HasChain64.ShouldBeTrue();
        notHex.TryGetChain(new byte[32]).ShouldBeFalse();

        foreach (var broken in new[] { chain[..63], chain + "0", chain[..62] + "g0" })
        {
            var line = Read(text.Replace(chain, broken, StringComparison.Ordinal));
            (line.HasChain64 && line.TryGetChain(new byte[32])).ShouldBeFalse(broken);
            if (broken.Length != 64)
                line.SchemaProblem.ShouldBe("AuditChain is missing, malformed or not the last property");
        }

        var notLast = JsonNode.Parse(text)!.AsObject();
        notLast["Extra"] = 1;
        var read = Read(notLast.ToJsonString());
        read.PrefixLength.ShouldBe(-1);
        read.SchemaProblem.ShouldBe("AuditChain is missing, malformed or not the last property");
    }

    [Theory]
    [InlineData("{\"@t\":\"2026-12-01T00:00:00Z\",\"SequenceNumber\":1")]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("{\"a\":1}{\"b\":2}")]
    [InlineData("\0\0\0")]
    [InlineData("{\"a\":1} x")]
    public void What_is_not_one_JSON_object_is_torn(string text)
    {
        var line = Read(text);

        line.IsTorn.ShouldBeTrue();
        line.IsEvent.ShouldBeFalse();
        line.SequenceNumber.ShouldBeNull();
    }

    [Fact]
    public void A_continuation_line_reads_its_link_and_has_no_schema_problem()
    {
        var chain = new string('a', 64);
        var line = Read($"{{\"@t\":\"2026-12-01T00:00:00Z\",\"AuditSession\":\"s1\",\"ContinuesFrom\":\"a.ndjson\",\"ContinuesAfter\":12,\"ContinuesFromAuditChain\":\"{chain}\"}}");

        line.ShouldSatisfyAllConditions(l => l.IsContinuation.ShouldBeTrue(), l => l.IsEvent.ShouldBeFalse(), l => l.SchemaProblem.ShouldBeNull(),
            l => l.ContinuesFrom.ShouldBe("a.ndjson"), l => l.ContinuesAfter.ShouldBe(12), l => l.ContinuesFromChain.ShouldBe(chain), l => l.AuditSession.ShouldBe("s1"));

        // A number as text is no number; the rest of the link is still read.
        var unnumbered = Read($"{{\"AuditSession\":\"s1\",\"ContinuesFrom\":\"a.ndjson\",\"ContinuesAfter\":\"12\",\"ContinuesFromAuditChain\":\"{chain}\"}}");
        unnumbered.ShouldSatisfyAllConditions(l => l.ContinuesAfter.ShouldBeNull(), l => l.ContinuesFromChain.ShouldBe(chain), l => l.SchemaProblem.ShouldBeNull());
        Read("{\"AuditSession\":\"s1\",\"ContinuesFrom\":\"a.ndjson\",\"ContinuesAfter\":12,\"ContinuesFromAuditChain\":null}").ContinuesFromChain.ShouldBeNull();
        // A link that also carries a sequence number is still no event.
        Read("{\"AuditSession\":\"s1\",\"ContinuesFrom\":\"a.ndjson\",\"ContinuesAfter\":12,\"SequenceNumber\":13}").ShouldSatisfyAllConditions(
            l => l.IsContinuation.ShouldBeTrue(), l => l.IsEvent.ShouldBeFalse());
    }

    [Fact]
    public async Task The_first_line_of_a_session_reads_the_session_before_it()
    {
        var line = Read(await ChangedAsync(n =>
        {
            n["PreviousAuditSession"] = "before";
            n["PreviousSequenceNumber"] = 41;
            n["PreviousAuditChain"] = "cafe";
            n["PreviousSessionEnded"] = true;
        }));
        line.ShouldSatisfyAllConditions(l => l.PreviousAuditSession.ShouldBe("before"), l => l.PreviousSequenceNumber.ShouldBe(41),
            l => l.PreviousAuditChain.ShouldBe("cafe"), l => l.PreviousSessionEnded.ShouldBe(true), l => l.SchemaProblem.ShouldBeNull());

        var none = Read(await ChangedAsync(n =>
        {
            n["PreviousAuditSession"] = null;
            n["PreviousSequenceNumber"] = "41";
            n["PreviousAuditChain"] = null;
            n["PreviousSessionEnded"] = "yes";
        }));
        // Values of the wrong kind read as absent, and the properties after them are still read.
        none.ShouldSatisfyAllConditions(l => l.PreviousAuditSession.ShouldBeNull(), l => l.PreviousSequenceNumber.ShouldBeNull(),
            l => l.PreviousAuditChain.ShouldBeNull(), l => l.PreviousSessionEnded.ShouldBeNull(), l => l.HasChain64.ShouldBeTrue(), l => l.SchemaProblem.ShouldBeNull());
        Read(await ChangedAsync(n => n["PreviousSessionEnded"] = false)).PreviousSessionEnded.ShouldBe(false);
    }

    [Theory]
    [InlineData("", new int[0])]
    [InlineData("a", new[] { 0, 1 })]
    [InlineData("a\n", new[] { 0, 1 })]
    [InlineData("ab\n\ncd", new[] { 0, 2, 3, 0, 4, 2 })]
    [InlineData("\nab", new[] { 0, 0, 1, 2 })]
    public void Lines_split_at_newlines_and_keep_a_last_line_without_one(string text, int[] expected)
    {
        AuditLineReader.Lines(Encoding.UTF8.GetBytes(text)).SelectMany(l => new[] { l.Start, l.Length }).ShouldBe(expected);
    }
    public static TheoryData<string, string, string, string, string> TwoBreaks => new()
    {
        { "@t", "5", "SequenceNumber", "1.5", "@t is not text" },
        { "SequenceNumber", "1.5", "Category", "5", "SequenceNumber is not a whole number" },
        { "Category", "5", "XForwardedFor", "\"a\"", "Category is not text" },
        { "Category", "5", "XForwardedFor", "[1]", "Category is not text" },
        { "XForwardedFor", "\"a\"", "SequenceNumber", "1.5", "XForwardedFor is neither a list nor null" },
    };

    [Theory]
    [MemberData(nameof(TwoBreaks))]
    public async Task A_line_broken_in_two_properties_names_the_first_in_the_line(string first, string firstValue, string second, string secondValue, string problem)
    {
        var text = await ChangedAsync(node =>
        {
            node.Remove(first);
            node.Remove(second);
            node[first] = JsonNode.Parse(firstValue);
            node[second] = JsonNode.Parse(secondValue);
        });

        Read(text).SchemaProblem.ShouldBe(problem);
        Read(text, full: false).SchemaProblem.ShouldBe(problem);
    }

    [Fact]
    public async Task Properties_nested_in_an_unknown_property_are_not_read_as_the_line_s_own()
    {
        var line = Read(await ChangedAsync(n => n["Details"] = new JsonObject
        {
            ["Category"] = "Forged",
            ["SequenceNumber"] = 99,
            ["AuditSession"] = "other",
            ["Event"] = "Explode",
        }));

        line.ShouldSatisfyAllConditions(l => l.Category.ShouldBe("Test"), l => l.SequenceNumber.ShouldBe(1), l => l.AuditSession.ShouldBe("readersession"),
            l => l.Event.ShouldBe("Fail"), l => l.SchemaProblem.ShouldBeNull(), l => l.HasChain64.ShouldBeTrue());
    }

    [Fact]
    public async Task A_line_without_a_chain_value_has_none()
    {
        var text = await ChangedAsync(_ => { });
        var node = JsonNode.Parse(text)!.AsObject();
        node.Remove("AuditChain");

        var line = Read(node.ToJsonString());

        line.ShouldSatisfyAllConditions(l => l.Chain.ShouldBeNull(), l => l.HasChain64.ShouldBeFalse(), l => l.PrefixLength.ShouldBe(-1),
            l => l.SchemaProblem.ShouldBe("AuditChain is missing, malformed or not the last property"));
    }
}

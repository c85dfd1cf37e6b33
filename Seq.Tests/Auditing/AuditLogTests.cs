using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Application.Auditing;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Credentials;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>The audit log over a real file target, in process: what a line holds, and the session's first and last lines.</summary>
public sealed class AuditLogTests : IDisposable
{
    readonly string _root = TestDirectories.NewPath("audit-log");
    readonly SecretKey _key = SecretKey.Generate();
    readonly ManualClock _clock = new(new DateTimeOffset(2031, 7, 9, 23, 59, 58, 123, TimeSpan.FromHours(-5)));

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    (AuditLog Log, FileAuditTarget Target) NewLog(AuditLogLimits? limits = null)
    {
        var session = AuditSession.Start();
        var target = new FileAuditTarget(Path.Combine(_root, "audit"), session.Id, _clock, NullLogger<FileAuditTarget>.Instance);
        return (new AuditLog(target, session, _key, _clock, limits), target);
    }

    static List<JsonElement> Lines(FileAuditTarget target) =>
        [.. TestServer.ReadSharedLines(target.FilePath!).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    enum Colour
    {
        Red,
    }

    sealed class Printable
    {
        public override string ToString() => "printed";
    }

    [Fact]
    public async Task A_line_holds_the_standard_properties_the_request_the_entrys_own_values_of_every_kind_and_the_rendered_message()
    {
        var (log, target) = NewLog();
        var principal = new Principal(PrincipalType.ApiKey, "Ingest key", "apikey-7", "user-3", new HashSet<Permission>());
        var operation = Guid.NewGuid();
        var entry = new AuditEntry("Settings", "Update", AuditEventKind.Fail, operation,
            "{Text} {Flag} {False} {Int} {Long} {Colour} {List} {Other} {Null} {@Text} {$Int} {Int:000} {Missing} {Category}",
            [
                new("Text", "say \"hi\""), new("Flag", true), new("False", false), new("Int", 42), new("Long", 1L << 40), new("Colour", Colour.Red),
                new("List", new object?[] { "a", 1, null }), new("Other", new Printable()), new("Null", null),
                new("Category", "not the standard one"), new("SequenceNumber", 999L),
            ],
            Exception: "System.Exception: boom");
        await using (log)
            await log.WriteAsync(entry, principal, new HttpRequestInfo("PUT", "/api/settings/x", "192.0.2.1", ["198.51.100.7", "203.0.113.9"]), CancellationToken.None);

        var line = Lines(target).ShouldHaveSingleItem();
        line.GetProperty("@t").GetString().ShouldBe("2031-07-10T04:59:58.1230000Z");
        line.GetProperty("@mt").GetString().ShouldBe(entry.MessageTemplate);
        line.GetProperty("@m").GetString().ShouldBe(
            "\"say \\\"hi\\\"\" True False 42 1099511627776 Red [\"a\", 1, null] printed null \"say \\\"hi\\\"\" 42 42 {Missing} \"Settings\"");
        line.GetProperty("@i").GetString().ShouldBe(AuditLog.EventTypeOf(entry.MessageTemplate));
        line.GetProperty("@x").GetString().ShouldBe("System.Exception: boom");
        line.GetProperty("AuditSession").GetString().ShouldBe(log.Session.Id);
        line.GetProperty("SequenceNumber").GetInt64().ShouldBe(1, "a standard property is not overridden by the entry's");
        line.GetProperty("Principal").GetString().ShouldBe("Ingest key");
        line.GetProperty("PrincipalId").GetString().ShouldBe("apikey-7");
        line.GetProperty("PrincipalType").GetString().ShouldBe("ApiKey");
        line.GetProperty("OnBehalfOfUserId").GetString().ShouldBe("user-3");
        line.GetProperty("Category").GetString().ShouldBe("Settings");
        line.GetProperty("Operation").GetString().ShouldBe("Update");
        line.GetProperty("OperationId").GetString().ShouldBe(operation.ToString());
        line.GetProperty("Event").GetString().ShouldBe("Fail");
        line.GetProperty("HttpRequestMethod").GetString().ShouldBe("PUT");
        line.GetProperty("HttpRequestPath").GetString().ShouldBe("/api/settings/x");
        line.GetProperty("RemoteIPAddress").GetString().ShouldBe("192.0.2.1");
        line.GetProperty("XForwardedFor").EnumerateArray().Select(e => e.GetString()).ShouldBe(["198.51.100.7", "203.0.113.9"]);
        line.GetProperty("Text").GetString().ShouldBe("say \"hi\"");
        line.GetProperty("Flag").GetBoolean().ShouldBeTrue();
        line.GetProperty("False").GetBoolean().ShouldBeFalse();
        line.GetProperty("Int").GetInt32().ShouldBe(42);
        line.GetProperty("Long").GetInt64().ShouldBe(1L << 40);
        line.GetProperty("Colour").GetString().ShouldBe("Red");
        line.GetProperty("List").GetRawText().ShouldBe("[\"a\",1,null]");
        line.GetProperty("Other").GetString().ShouldBe("printed");
        line.GetProperty("Null").ValueKind.ShouldBe(JsonValueKind.Null);
        line.EnumerateObject().Last().Name.ShouldBe(AuditLog.ChainProperty, "the chain value closes the line");
        line.EnumerateObject().Count(p => p.Name == "Category").ShouldBe(1);
        AuditChainVerifier.Verify(TestServer.ReadSharedLines(target.FilePath!), _key).ShouldBe(new AuditChainVerification(true, 1, null));
    }

    [Fact]
    public async Task Without_a_request_no_request_properties_are_written()
    {
        var (log, target) = NewLog();
        await using (log)
            await log.WriteAsync(new AuditEntry("Test", "Plain", AuditEventKind.Record, Guid.NewGuid(), "Plain", []), Principal.Anonymous, null, CancellationToken.None);

        var line = Lines(target).ShouldHaveSingleItem();
        line.TryGetProperty("HttpRequestMethod", out _).ShouldBeFalse();
        line.TryGetProperty("RemoteIPAddress", out _).ShouldBeFalse();
        line.TryGetProperty("@x", out _).ShouldBeFalse();
        line.GetProperty("OnBehalfOfUserId").ValueKind.ShouldBe(JsonValueKind.Null);
        line.GetProperty("PrincipalType").GetString().ShouldBe("Public");
    }

    [Fact]
    public async Task The_session_starts_with_a_line_naming_the_session_before_and_ends_with_a_durable_line_after_which_nothing_is_written()
    {
        var (log, target) = NewLog();
        await using (log)
        {
            log.DurableHead.ShouldBe((0, null));
            log.EndIsDurable.ShouldBeFalse();
            await log.StartSessionAsync("PreviousSession1", 17, "ab12", previousEnded: true, CancellationToken.None);
            await log.WriteAsync(new AuditEntry("Test", "Work", AuditEventKind.Begin, Guid.NewGuid(), "Work", []), Principal.Anonymous, null, CancellationToken.None);
            log.EndIsDurable.ShouldBeFalse();

            await log.EndAsync(CancellationToken.None);
            log.EndIsDurable.ShouldBeTrue();
            await log.EndAsync(CancellationToken.None); // a second end writes nothing

            var refused = await Should.ThrowAsync<AuditUnavailableException>(() =>
                log.WriteAsync(new AuditEntry("Test", "Late", AuditEventKind.Begin, Guid.NewGuid(), "Late", []), Principal.Anonymous, null, CancellationToken.None));
            refused.OpeningRecorded.ShouldBeFalse();
            refused.InnerException.ShouldBeOfType<AuditTargetException>().TargetClosed.ShouldBeTrue();
            await log.WriteAsync(new AuditEntry("Test", "Late", AuditEventKind.Complete, Guid.NewGuid(), "Late", []), Principal.Anonymous, null, CancellationToken.None);
            log.DurableHead.Sequence.ShouldBe(3);
        }

        var lines = Lines(target);
        lines.Count.ShouldBe(3);
        var start = lines[0];
        start.GetProperty("Category").GetString().ShouldBe("Audit");
        start.GetProperty("Operation").GetString().ShouldBe("SessionStart");
        start.GetProperty("Event").GetString().ShouldBe("Record");
        start.GetProperty("PreviousAuditSession").GetString().ShouldBe("PreviousSession1");
        start.GetProperty("PreviousSequenceNumber").GetInt64().ShouldBe(17);
        start.GetProperty("PreviousAuditChain").GetString().ShouldBe("ab12");
        start.GetProperty("PreviousSessionEnded").GetBoolean().ShouldBeTrue();
        start.GetProperty("@m").GetString().ShouldBe($"Audit session \"{log.Session.Id}\" began after session \"PreviousSession1\", which reached sequence number 17");
        var end = lines[2];
        end.GetProperty("Operation").GetString().ShouldBe("SessionEnd");
        end.GetProperty("Event").GetString().ShouldBe("Record");
        end.GetProperty("@m").GetString().ShouldBe($"Audit session \"{log.Session.Id}\" ended cleanly");
        end.GetProperty("SequenceNumber").GetInt64().ShouldBe(3);
    }

    [Fact]
    public async Task Advisory_events_not_recorded_are_summarized_before_the_end_line()
    {
        // A byte bound smaller than one line: once a line is queued, opening and advisory events are refused.
        var (log, target) = NewLog(new AuditLogLimits(1000, 10));
        await using (log)
        {
            Directory.CreateDirectory(_root);
            await File.WriteAllTextAsync(Path.Combine(_root, "audit"), "not a directory");
            await Should.ThrowAsync<AuditUnavailableException>(() =>
                log.WriteAsync(new AuditEntry("Test", "Stuck", AuditEventKind.Begin, Guid.NewGuid(), "Stuck", []), Principal.Anonymous, null, CancellationToken.None));
            log.Problem.ShouldNotBeNull();
            log.Queue!.Value.Bytes.ShouldBeGreaterThan(10);
            for (var i = 0; i < 3; i++)
                await log.WriteAsync(new AuditEntry("Test", "Advice", AuditEventKind.Advise, Guid.NewGuid(), "Advice", []), Principal.Anonymous, null, CancellationToken.None);
            log.AdvisoriesNotRecorded.ShouldBe(3);
            var refused = await Should.ThrowAsync<AuditUnavailableException>(() =>
                log.WriteAsync(new AuditEntry("Test", "Refused", AuditEventKind.Begin, Guid.NewGuid(), "Refused", []), Principal.Anonymous, null, CancellationToken.None));
            refused.OpeningRecorded.ShouldBeFalse();
            refused.InnerException!.Message.ShouldBe("The audit queue is full (1 lines not yet durable); audited operations are refused until the audit target catches up.");
            File.Delete(Path.Combine(_root, "audit"));

            await log.EndAsync(CancellationToken.None);
        }

        var lines = Lines(target);
        lines.Select(l => l.GetProperty("Operation").GetString()).ShouldBe(["Stuck", "AdvisoriesNotRecorded", "SessionEnd"]);
        lines[1].GetProperty("NotRecordedCount").GetInt64().ShouldBe(3);
        lines[1].GetProperty("Reason").GetString().ShouldBe("The audit queue is full (1 lines not yet durable); audited operations are refused until the audit target catches up.");
        lines[1].GetProperty("Event").GetString().ShouldBe("Advise");
        log.AdvisoriesNotRecorded.ShouldBe(0);
    }

    [Fact]
    public async Task Without_a_target_the_log_is_disabled_and_records_nothing()
    {
        var log = new AuditLog(null, AuditSession.Start(), _key, _clock);

        log.IsEnabled.ShouldBeFalse();
        log.TargetDescription.ShouldBeNull();
        log.TargetState.ShouldBeNull();
        log.Problem.ShouldBeNull();
        log.Queue.ShouldBeNull();
        log.FreeSpace.ShouldBeNull();
        log.DurableHead.ShouldBe((0, null));
        await log.WriteAsync(new AuditEntry("Test", "Nothing", AuditEventKind.Begin, Guid.NewGuid(), "Nothing", []), Principal.Anonymous, null, CancellationToken.None);
        await log.EndAsync(CancellationToken.None);
        log.EndIsDurable.ShouldBeFalse();
        await log.DisposeAsync();
        Directory.Exists(_root).ShouldBeFalse();
    }

    [Fact]
    public async Task A_file_target_reports_its_description_state_queue_and_free_space()
    {
        var (log, target) = NewLog(new AuditLogLimits(7, 4096));
        await using (log)
        {
            log.IsEnabled.ShouldBeTrue();
            log.TargetDescription.ShouldBe(target.Description);
            log.TargetState.ShouldBe(AuditTargetState.Available);
            log.Queue!.Value.ShouldBe((0L, 0L, new AuditLogLimits(7, 4096)));
            var (free, minimum) = log.FreeSpace.ShouldNotBeNull();
            free.ShouldNotBeNull().ShouldBeGreaterThan(0);
            minimum.ShouldBe(FileAuditTargetOptions.Default.MinimumFreeBytes);
        }
    }

    [Fact]
    public void Limits_below_one_line_or_one_byte_are_refused()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new AuditLog(null, AuditSession.Start(), _key, _clock, new AuditLogLimits(0, 1)));
        Should.Throw<ArgumentOutOfRangeException>(() => new AuditLog(null, AuditSession.Start(), _key, _clock, new AuditLogLimits(1, 0)));
        new AuditLog(null, AuditSession.Start(), _key, _clock, new AuditLogLimits(1, 1)).IsEnabled.ShouldBeFalse();
        AuditLogLimits.Default.ShouldBe(new AuditLogLimits(10_000, 64L * 1024 * 1024));
    }

    [Fact]
    public void A_session_id_is_20_random_letters_and_digits()
    {
        var ids = Enumerable.Range(0, 50).Select(_ => AuditSession.Start().Id).ToList();
        ids.ShouldAllBe(id => id.Length == 20 && id.All(char.IsAsciiLetterOrDigit));
        ids.Distinct().Count().ShouldBe(50);
        new AuditSession("Abc").ToString().ShouldBe("Abc");
    }
}

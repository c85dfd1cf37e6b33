using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;
using Seq.Api.Hosting;
using Seq.Infrastructure.Auditing;
using Seq.Infrastructure.Security;
using Seq.Tests.Cli;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>
/// `seqsvr audit verify` and `replay` on audit files real servers wrote (issue 15): two runs over one database, so
/// two sessions linked to each other and anchored in PostgreSQL; then each kind of tampering, one at a time.
/// </summary>
public sealed class AuditTrailTests : IDisposable
{
    readonly string _directory = TestDirectories.NewPath("trail");

    sealed record Trail(string ConnectionString, SecretKey Key, string First, string Second);

    /// <summary>Two runs of the server over one database, each changing the title; the second run's file is <see cref="Trail.Second"/>.</summary>
    async Task<Trail> WriteTwoSessionsAsync()
    {
        ServerOptions first;
        await using (var server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_directory, null, null) }))
        {
            first = server.Options;
            await server.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Value":"one"}""", HttpStatusCode.OK);
        }
        var firstFile = Directory.GetFiles(_directory).Single();
        await using (var server = await TestServer.StartAsync(o => o with
        {
            ConnectionString = first.ConnectionString, SecretKey = first.SecretKey, Audit = new AuditOptions(_directory, null, null),
        }))
        {
            await server.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Value":"two"}""", HttpStatusCode.OK);
            await server.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Value":"three"}""", HttpStatusCode.OK);
        }
        var secondFile = Directory.GetFiles(_directory).Single(f => f != firstFile);
        return new Trail(first.ConnectionString, first.SecretKey, firstFile, secondFile);
    }

    sealed record Verification(int ExitCode, JsonElement Json, string Text)
    {
        public List<(string Kind, string? File, int? Line, long? Sequence)> Findings =>
        [
            .. Json.GetProperty("Findings").EnumerateArray().Select(f => (
                f.GetProperty("Kind").GetString()!,
                f.GetProperty("File").GetString() is { } file ? Path.GetFileName(file) : null,
                f.GetProperty("Line").ValueKind == JsonValueKind.Number ? f.GetProperty("Line").GetInt32() : (int?)null,
                f.GetProperty("SequenceNumber").ValueKind == JsonValueKind.Number ? f.GetProperty("SequenceNumber").GetInt64() : (long?)null)),
        ];

        public List<string> Kinds => [.. Findings.Select(f => f.Kind).Where(k => k != "Unchecked")];
    }

    static async Task<Verification> VerifyAsync(Trail trail, string path, bool anchors = true)
    {
        using var seqsvr = new Seqsvr();
        string[] args = ["audit", "verify", path, "--key-on-input", "--json", .. anchors ? new[] { "--connection-string", trail.ConnectionString } : []];
        var result = await seqsvr.RunWithInputAsync(trail.Key.ToBase64() + "\n", args);
        result.Output.ShouldStartWith("{", customMessage: result.Everything);
        using var document = JsonDocument.Parse(result.Output);
        return new Verification(result.ExitCode, document.RootElement.Clone(), result.Everything);
    }

    [Fact]
    public async Task Files_the_server_wrote_in_two_runs_verify_with_their_anchors_and_the_second_session_names_the_first()
    {
        var trail = await WriteTwoSessionsAsync();

        var verification = await VerifyAsync(trail, _directory);

        verification.ExitCode.ShouldBe(0, verification.Text);
        verification.Kinds.ShouldBeEmpty();
        var summary = verification.Json.GetProperty("Summary");
        summary.GetProperty("Sessions").GetInt32().ShouldBe(2);
        summary.GetProperty("TailChecked").GetBoolean().ShouldBeTrue();
        var lines = File.ReadAllLines(trail.Second);
        var start = JsonDocument.Parse(lines[0]).RootElement;
        start.GetProperty("Operation").GetString().ShouldBe("SessionStart");
        start.GetProperty("PreviousAuditSession").GetString().ShouldBe(JsonDocument.Parse(File.ReadLines(trail.First).First()).RootElement.GetProperty("AuditSession").GetString());
        start.GetProperty("PreviousSessionEnded").GetBoolean().ShouldBeTrue();
        JsonDocument.Parse(lines[^1]).RootElement.GetProperty("Operation").GetString().ShouldBe("SessionEnd");

        var text = await new Seqsvr().RunWithInputAsync(trail.Key.ToBase64() + "\n", "audit", "verify", _directory, "--key-on-input", "--connection-string", trail.ConnectionString);
        text.ExitCode.ShouldBe(0, text.Everything);
        text.Output.ShouldContain("2 sessions, 2 files");
        text.Output.ShouldContain("Result: everything checked holds.");
    }

    [Fact]
    public async Task While_the_server_runs_its_session_anchor_follows_the_durable_lines_within_seconds_and_claims_no_end()
    {
        await using var server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_directory, null, null) });
        await server.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Value":"anchored"}""", HttpStatusCode.OK);
        // The session's start line and the change's Begin and End: three durable lines.
        await using var dataSource = Seq.Infrastructure.DependencyInjection.CreateDataSource(server.Options.ConnectionString);

        AuditSessionAnchor? anchor = null;
        await Poll.UntilAsync(async () =>
        {
            anchor = (await AuditSessionAnchors.ReadAllAsync(dataSource, default)).Single();
            return anchor.DurableSequence >= 3;
        }, TimeSpan.FromSeconds(10), "the anchor to reach the change's lines while the server runs");

        anchor!.DurableChain.ShouldNotBeNull();
        anchor.Ended.ShouldBeNull("the session is still running");
    }

    [Fact]
    public async Task Each_kind_of_tampering_is_reported_at_its_line_with_its_kind_and_a_duplicate_as_a_duplicate()
    {
        var trail = await WriteTwoSessionsAsync();
        var first = File.ReadAllLines(trail.First);
        var second = File.ReadAllLines(trail.Second);
        var secondName = Path.GetFileName(trail.Second);
        var firstName = Path.GetFileName(trail.First);
        second.Length.ShouldBeGreaterThanOrEqualTo(8);

        async Task<Verification> With(string[]? firstLines, string[]? secondLines, bool anchors = true, string? firstText = null, string? secondText = null)
        {
            foreach (var file in Directory.GetFiles(_directory))
                File.Delete(file);
            if (firstLines is not null || firstText is not null)
                await File.WriteAllTextAsync(trail.First, firstText ?? string.Join('\n', firstLines!) + "\n");
            if (secondLines is not null || secondText is not null)
                await File.WriteAllTextAsync(trail.Second, secondText ?? string.Join('\n', secondLines!) + "\n");
            return await VerifyAsync(trail, _directory, anchors);
        }

        // A line removed from the middle: the gap shows at the line after it.
        var removed = await With(first, [.. second.Take(2), .. second.Skip(3)]);
        removed.ExitCode.ShouldBe(2);
        removed.Findings.First(f => f.Kind != "Unchecked").ShouldBe(("Removed", secondName, 3, 4L));

        // Altered in place: the line itself.
        string[] altered = [.. second];
        altered[3] = altered[3].Replace("\"Value\":\"two\"", "\"Value\":\"TWO\"", StringComparison.Ordinal);
        altered[3].ShouldNotBe(second[3]);
        var alteredResult = await With(first, altered);
        alteredResult.Findings.First(f => f.Kind != "Unchecked").ShouldBe(("Altered", secondName, 4, 4L));
        alteredResult.Kinds.Distinct().ShouldBe(["Altered"]);

        // A forged line inserted before line 3: it takes sequence number 3, which the real line 3 then proves it is not.
        var forged = second[2].Replace(JsonDocument.Parse(second[2]).RootElement.GetProperty("OperationId").GetString()!, Guid.NewGuid().ToString(), StringComparison.Ordinal);
        var inserted = await With(first, [.. second.Take(2), forged, .. second.Skip(2)]);
        inserted.Findings.First(f => f.Kind != "Unchecked").ShouldBe(("Inserted", secondName, 3, 3L));
        inserted.Kinds.Distinct().ShouldBe(["Inserted"]);

        // Two lines swapped.
        string[] swapped = [.. second];
        (swapped[2], swapped[3]) = (swapped[3], swapped[2]);
        var swappedResult = await With(first, swapped);
        swappedResult.Findings.First(f => f.Kind != "Unchecked").ShouldBe(("OutOfOrder", secondName, 3, 4L));

        // The End line removed from the newest session: only the anchor can tell.
        var cutEnd = await With(first, second[..^1]);
        cutEnd.ExitCode.ShouldBe(2);
        cutEnd.Kinds.ShouldContain("Truncated");
        var cutEndUnanchored = await With(first, second[..^1], anchors: false);
        cutEndUnanchored.ExitCode.ShouldBe(0, "without the anchors the end cannot be checked");
        cutEndUnanchored.Findings.ShouldContain(f => f.Kind == "Unchecked");

        // The end of the older session: the newer session's first line names where it ended, anchors or not.
        var cutOlder = await With(first[..^1], second, anchors: false);
        cutOlder.Kinds.ShouldBe(["Truncated"]);
        cutOlder.Findings.Single(f => f.Kind == "Truncated").File.ShouldBe(firstName);

        // A whole session deleted.
        var deleted = await With(null, second);
        deleted.Kinds.ShouldBe(["MissingSession"]);

        // Cut mid-line at the end: a torn line, and the anchor says the End line was durable.
        var text = string.Join('\n', second);
        var torn = await With(first, null, secondText: text[..(text.Length - second[^1].Length / 2)]);
        torn.Findings.ShouldContain(("Torn", secondName, second.Length, (long?)second.Length));
        torn.Kinds.ShouldContain("Truncated");
        torn.ExitCode.ShouldBe(2);

        // A session continued in a second file after a failed fsync verifies; without its second file or its first, it does not.
        var (head, rest) = ContinueInSecondFile(second, durable: 5, secondName);
        var continuedName = secondName.Replace(".ndjson", "-2.ndjson", StringComparison.Ordinal);
        async Task<Verification> Split(bool withHead, bool withRest)
        {
            foreach (var file in Directory.GetFiles(_directory))
                File.Delete(file);
            await File.WriteAllLinesAsync(trail.First, first);
            if (withHead)
                await File.WriteAllLinesAsync(trail.Second, head);
            if (withRest)
                await File.WriteAllLinesAsync(Path.Combine(_directory, continuedName), rest);
            return await VerifyAsync(trail, _directory);
        }
        (await Split(true, true)).ShouldSatisfyAllConditions(v => v.ExitCode.ShouldBe(0, v.Text), v => v.Kinds.ShouldBeEmpty());
        (await Split(true, false)).Kinds.ShouldContain("Truncated");
        (await Split(false, true)).Kinds.ShouldContain("MissingFile");

        // An exact copy of a line is a duplicate, not tampering.
        var duplicate = await With(first, [.. second.Take(3), second[2], .. second.Skip(3)]);
        duplicate.ExitCode.ShouldBe(0, duplicate.Text);
        duplicate.Findings.ShouldContain(("Duplicate", secondName, 4, 3L));
        duplicate.Json.GetProperty("Summary").GetProperty("Duplicates").GetInt32().ShouldBe(1);
    }

    /// <summary>The lines as the file target leaves them after a failed fsync after line <paramref name="durable"/> (ADR 0009).</summary>
    static (string[] Head, string[] Tail) ContinueInSecondFile(string[] lines, int durable, string firstName)
    {
        using var last = JsonDocument.Parse(lines[durable - 1]);
        var link = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["@t"] = "2026-12-01T00:00:00.0000000Z",
            ["AuditSession"] = last.RootElement.GetProperty("AuditSession").GetString(),
            [AuditChainVerifier.ContinuesFromProperty] = firstName,
            [AuditChainVerifier.ContinuesAfterProperty] = durable,
            [AuditChainVerifier.ContinuesFromChainProperty] = last.RootElement.GetProperty("AuditChain").GetString(),
        });
        return ([.. lines.Take(durable + 1), "\0\0{\"torn"], [link, .. lines.Skip(durable)]);
    }

    [Fact]
    public async Task A_Begin_left_open_by_kill_9_is_reported_as_interrupted_not_as_tampering()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("killed");
        var storage = Path.Combine(_directory, "storage");
        var audit = Path.Combine(_directory, "audit");
        await using var server = SeqsvrProcess.Start(storage, new Dictionary<string, string?>
        {
            ["SEQ_AUDIT_AUDITPATH"] = audit, ["SEQ_STORAGE_CONNECTIONSTRING"] = connectionString,
        });
        await server.WaitUntilHealthyAsync();
        await server.LoginAsAdminAsync();
        (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "before" })).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The append waits on this lock, so the operation is mid-way (its Begin durable) when the process dies.
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var lockEvents = new NpgsqlCommand("LOCK TABLE events IN EXCLUSIVE MODE", connection, transaction))
            await lockEvents.ExecuteNonQueryAsync();
        var stuck = server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "stuck" });
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Directory.GetFiles(audit).Any(f => TestServer.ReadSharedLines(f).Any(l => l.Contains("\"Value\":\"stuck\"", StringComparison.Ordinal))))
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the Begin of the stuck operation did not reach the audit file");
            await Task.Delay(20);
        }
        Process.GetProcessById(server.ProcessId).Kill();
        await server.WaitForExitAsync();
        try
        {
            (await stuck).Dispose();
        }
        catch (HttpRequestException)
        {
            // The connection died with the process, as expected.
        }
        await transaction.RollbackAsync();

        using var seqsvr = new Seqsvr();
        var result = await seqsvr.RunAsync("audit", "verify", audit, "--secret-key", Path.Combine(storage, SecretKeyLoader.KeyFileName),
            "--connection-string", connectionString, "--json");
        result.ExitCode.ShouldBe(3, result.Everything);
        using var json = JsonDocument.Parse(result.Output);
        var findings = json.RootElement.GetProperty("Findings").EnumerateArray().Where(f => f.GetProperty("Kind").GetString() != "Unchecked").ToList();
        findings.Select(f => f.GetProperty("Kind").GetString()).ShouldBe(["Interrupted"]);
        json.RootElement.GetProperty("Summary").GetProperty("Interrupted").GetInt32().ShouldBe(1);

        var replay = await seqsvr.RunAsync("audit", "replay", audit, "--json");
        using var timeline = JsonDocument.Parse(replay.Output);
        timeline.RootElement.EnumerateArray().Last(r => r.GetProperty("Category").GetString() == "Setting").GetProperty("Outcome").GetString().ShouldBe("Interrupted");
    }

    [Fact]
    public async Task Verify_given_the_storage_of_a_stopped_instance_takes_the_key_and_the_anchors_from_its_private_database()
    {
        var storage = Path.Combine(_directory, "storage");
        var audit = Path.Combine(_directory, "audit");
        await using (var server = SeqsvrProcess.Start(storage, new Dictionary<string, string?> { ["SEQ_AUDIT_AUDITPATH"] = audit }))
        {
            await server.WaitUntilHealthyAsync();
            await server.LoginAsAdminAsync();
            (await server.Client.PutAsJsonAsync("/api/settings/setting-InstanceTitle", new { Value = "stored" })).StatusCode.ShouldBe(HttpStatusCode.OK);
            await server.StopAsync();
        }

        async Task<(int ExitCode, JsonElement Json, string Error)> VerifyWithStorageAsync()
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var exitCode = await Seq.Api.Program.InvokeAsync(["audit", "verify", audit, "--storage", storage, "--json"], output, error, new StringReader(""), _ => null);
            output.ToString().ShouldStartWith("{", customMessage: error.ToString());
            return (exitCode, JsonDocument.Parse(output.ToString()).RootElement.Clone(), error.ToString());
        }

        var intact = await VerifyWithStorageAsync();
        intact.ExitCode.ShouldBe(0, intact.Error);
        intact.Json.GetProperty("Summary").GetProperty("TailChecked").GetBoolean().ShouldBeTrue();

        var file = Directory.GetFiles(audit).Single();
        await File.WriteAllLinesAsync(file, File.ReadAllLines(file)[..^1]);
        var cut = await VerifyWithStorageAsync();
        cut.ExitCode.ShouldBe(2);
        cut.Json.GetProperty("Findings").EnumerateArray().Select(f => f.GetProperty("Kind").GetString()).ShouldContain("Truncated");
    }

    [Fact]
    public async Task Replay_of_a_known_sequence_of_operations_yields_exactly_the_expected_timeline()
    {
        await using (var server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_directory, null, null) }))
        {
            await server.CreateUserAsync("replayed", "replayed-password-1");
            using (var refused = await server.Client.PostAsJsonAsync("/api/users", new { Username = "", NewPassword = "x" }))
                refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            await server.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Value":"replayed"}""", HttpStatusCode.OK);
        }
        using var seqsvr = new Seqsvr();

        var all = await seqsvr.RunAsync("audit", "replay", _directory, "--json");

        all.ExitCode.ShouldBe(0, all.Everything);
        var rows = JsonDocument.Parse(all.Output).RootElement.EnumerateArray().ToList();
        rows.Select(r => $"{r.GetProperty("Category").GetString()}/{r.GetProperty("Operation").GetString()} {r.GetProperty("Outcome").GetString()} {r.GetProperty("Principal").GetString()} {r.GetProperty("HttpRequestMethod").GetString()} {r.GetProperty("HttpRequestPath").GetString()}")
            .ShouldBe([
                "Audit/SessionStart Record DefaultPublicPrincipal  ",
                "User/LocalLogin Complete admin POST /api/users/login",
                "User/Create Complete admin POST /api/users",
                "User/Create Abandon admin POST /api/users",
                "Setting/Update Complete admin PUT /api/settings/setting-InstanceTitle",
                "Audit/SessionEnd Record DefaultPublicPrincipal  ",
            ]);
        rows[3].GetProperty("Reason").GetString().ShouldNotBeNullOrEmpty();
        rows.Where(r => r.GetProperty("Category").GetString() != "Audit").ShouldAllBe(r => r.GetProperty("DurationMilliseconds").GetDouble() >= 0);
        rows.Where(r => r.GetProperty("Category").GetString() != "Audit").ShouldAllBe(r => r.GetProperty("RemoteIPAddress").GetString() == "127.0.0.1");

        var creates = await seqsvr.RunAsync("audit", "replay", _directory, "--category", "user", "--operation", "Create");
        creates.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(3, creates.Output);
        creates.Output.ShouldContain("2 operations.");
        var after = rows[4].GetProperty("Time").GetDateTimeOffset();
        var late = await seqsvr.RunAsync("audit", "replay", _directory, "--from", after.ToString("O"), "--json");
        JsonDocument.Parse(late.Output).RootElement.GetArrayLength().ShouldBe(2);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }
}

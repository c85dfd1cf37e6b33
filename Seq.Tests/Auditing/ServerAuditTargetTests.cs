using Seq.Tests.Support;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Seq.Infrastructure.Auditing;

namespace Seq.Tests.Auditing;

public sealed class ServerAuditTargetTests : IAsyncLifetime
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    const string ApiKey = "AuditIngestKey0123456789";

    readonly RecordingLogger<ServerAuditTarget> _log = new();
    AuditListener _listener = null!;

    public async Task InitializeAsync() => _listener = await AuditListener.StartAsync();

    public async Task DisposeAsync() => await _listener.DisposeAsync();

    static byte[] Line(int counter) => Encoding.UTF8.GetBytes($"{{\"Counter\":{counter}}}");

    static string Text(int counter) => $"{{\"Counter\":{counter}}}";

    ServerAuditTarget NewTarget(ServerAuditTargetOptions? options = null, Uri? address = null) =>
        new(address ?? _listener.Address, ApiKey, _log, options: options);

    [Fact]
    public async Task A_blocking_line_completes_only_after_the_server_answers_201_with_the_key_and_the_clef_content_type()
    {
        await using var target = NewTarget();
        _listener.Hold();

        var written = target.Enqueue(Line(1), blocking: true);
        await Poll.UntilAsync(() => _listener.Requests == 1, Patience, "the POST");
        written.IsCompleted.ShouldBeFalse();
        _listener.Release();
        await written.WaitAsync(Patience);

        var post = _listener.Posts.ShouldHaveSingleItem();
        post.Body.ShouldBe(Text(1));
        post.ApiKey.ShouldBe(ApiKey);
        post.ContentType.ShouldBe("application/vnd.serilog.clef");
        target.State.ShouldBe(AuditTargetState.Available);
    }

    [Fact]
    public async Task A_server_error_faults_after_the_retries_and_once_it_recovers_the_queued_lines_arrive_once_in_order()
    {
        var options = new ServerAuditTargetOptions(TimeSpan.FromSeconds(5), Retries: 2, RetryDelay: TimeSpan.FromMilliseconds(50))
        {
            InitialBackoff = TimeSpan.FromMinutes(5),
        };
        await using var target = NewTarget(options);
        await target.Enqueue(Line(1), blocking: true);
        _listener.Answer = ListenerAnswer.ServerError;

        var failure = await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(2), blocking: true).WaitAsync(Patience));

        failure.Message.ShouldContain("500");
        failure.ToString().ShouldNotContain(ApiKey);
        _listener.Requests.ShouldBe(1 + 1 + options.Retries);
        target.State.ShouldBe(AuditTargetState.Unavailable);
        await target.Enqueue(Line(3), blocking: false);

        _listener.Answer = ListenerAnswer.Created;
        await target.Enqueue(Line(4), blocking: true).WaitAsync(Patience);

        _listener.AcceptedLines.ShouldBe([Text(1), Text(2), Text(3), Text(4)]);
        target.State.ShouldBe(AuditTargetState.Available);
        _log.Warnings.ShouldBe(1);
    }

    [Fact]
    public async Task A_hanging_server_faults_after_each_attempt_times_out()
    {
        var options = new ServerAuditTargetOptions(TimeSpan.FromMilliseconds(300), Retries: 1, RetryDelay: TimeSpan.FromMilliseconds(10));
        await using var target = NewTarget(options);
        _listener.Answer = ListenerAnswer.Hang;
        var clock = Stopwatch.StartNew();

        var failure = await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(1), blocking: true).WaitAsync(Patience));

        clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(600));
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        failure.Message.ShouldContain("did not answer");
        _listener.Requests.ShouldBeGreaterThanOrEqualTo(2);

        _listener.Answer = ListenerAnswer.Created;
        await target.Enqueue(Line(2), blocking: true).WaitAsync(Patience);
        _listener.AcceptedLines.ShouldBe([Text(1), Text(2)]);
    }

    [Fact]
    public async Task A_server_refusing_connections_faults_quickly()
    {
        await using var target = NewTarget(address: new Uri($"http://127.0.0.1:{UnusedPort()}/"));
        var clock = Stopwatch.StartNew();

        await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(1), blocking: true).WaitAsync(Patience));

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        target.State.ShouldBe(AuditTargetState.Unavailable);
        _log.Text.ShouldNotContain(ApiKey);
    }

    [Fact]
    public async Task Non_blocking_lines_enqueued_in_a_burst_are_batched_in_order()
    {
        await using var target = NewTarget();
        _listener.Hold();
        await target.Enqueue(Line(1), blocking: false);
        await Poll.UntilAsync(() => _listener.Requests == 1, Patience, "the first POST");

        for (var i = 2; i <= 100; i++)
            await target.Enqueue(Line(i), blocking: false);
        _listener.Release();

        await Poll.UntilAsync(() => _listener.AcceptedLines.Count == 100, Patience, "all 100 lines");
        _listener.AcceptedLines.ShouldBe(Enumerable.Range(1, 100).Select(Text));
        _listener.Posts.Count.ShouldBe(2);
        _listener.Posts[1].Lines.Count.ShouldBe(99);
    }

    [Fact]
    public async Task Disposing_sends_the_lines_still_queued()
    {
        var target = NewTarget();
        _listener.Hold();
        await target.Enqueue(Line(1), blocking: false);
        await Poll.UntilAsync(() => _listener.Requests == 1, Patience, "the first POST");
        for (var i = 2; i <= 10; i++)
            await target.Enqueue(Line(i), blocking: false);

        var disposal = target.DisposeAsync().AsTask();
        _listener.Release();
        await disposal.WaitAsync(Patience);

        _listener.AcceptedLines.ShouldBe(Enumerable.Range(1, 10).Select(Text));
    }

    [Fact]
    public async Task The_description_names_the_server_but_never_the_key()
    {
        await using var target = new ServerAuditTarget(new Uri("https://audit.example.com:45341/"), ApiKey, _log);

        target.Description.ShouldBe("server https://audit.example.com:45341");
        target.Description.ShouldNotContain(ApiKey);
    }

    [Theory]
    [InlineData("https://audit.example.com:45341", "https://audit.example.com:45341/api/events/raw")]
    [InlineData("https://audit.example.com:45341/", "https://audit.example.com:45341/api/events/raw")]
    [InlineData("https://example.com/seq", "https://example.com/seq/api/events/raw")]
    [InlineData("https://example.com/seq/", "https://example.com/seq/api/events/raw")]
    [InlineData("https://user:secret@example.com/seq?apiKey=x#top", "https://example.com/seq/api/events/raw")]
    public void The_events_endpoint_is_joined_to_the_server_url_with_or_without_a_trailing_slash(string server, string expected)
    {
        // As text: Uri equality ignores user information.
        ServerAuditTarget.EventsEndpoint(new Uri(server)).AbsoluteUri.ShouldBe(expected);
    }

    [Theory]
    [InlineData("/relative", ApiKey)]
    [InlineData("ftp://audit.example.com/", ApiKey)]
    [InlineData("file:///var/audit", ApiKey)]
    [InlineData("https://audit.example.com/", "")]
    [InlineData("https://audit.example.com/", "   ")]
    [InlineData("https://audit.example.com/", "Key\nWith-a-line-break")]
    public void A_url_that_is_not_absolute_http_or_a_key_that_is_empty_or_holds_control_characters_is_refused_without_naming_the_key(string url, string key)
    {
        var refused = Should.Throw<ArgumentException>(() => new ServerAuditTarget(new Uri(url, UriKind.RelativeOrAbsolute), key, _log));
        if (key.Trim().Length > 0)
            refused.Message.ShouldNotContain(key.Trim());
    }

    [Fact]
    public async Task Options_below_their_bounds_are_refused_and_the_bounds_themselves_are_accepted()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => NewTarget(new ServerAuditTargetOptions(TimeSpan.FromMilliseconds(9), 0, TimeSpan.Zero)));
        Should.Throw<ArgumentOutOfRangeException>(() => NewTarget(new ServerAuditTargetOptions(TimeSpan.FromSeconds(1), -1, TimeSpan.Zero)));
        Should.Throw<ArgumentOutOfRangeException>(() => NewTarget(new ServerAuditTargetOptions(TimeSpan.FromSeconds(1), 0, TimeSpan.FromTicks(-1))));
        await using var target = NewTarget(new ServerAuditTargetOptions(TimeSpan.FromMilliseconds(10), 0, TimeSpan.Zero));
        target.Refusal.ShouldBeNull();
    }

    [Fact]
    public void The_default_options_allow_5_s_per_attempt_and_2_retries_200_ms_apart()
    {
        ServerAuditTargetOptions.Default.ShouldBe(new ServerAuditTargetOptions(TimeSpan.FromSeconds(5), 2, TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Without_retries_a_failed_post_faults_its_line_after_one_request()
    {
        await using var target = NewTarget(new ServerAuditTargetOptions(TimeSpan.FromSeconds(5), 0, TimeSpan.Zero) { InitialBackoff = TimeSpan.FromMinutes(5) });
        _listener.Answer = ListenerAnswer.ServerError;

        var failure = await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(1), blocking: true).WaitAsync(Patience));

        failure.Message.ShouldBe($"The audit line could not be made durable in {target.Description}: The audit server answered 500 (Internal Server Error) instead of 201.");
        _listener.Requests.ShouldBe(1);
        target.Problem.ShouldBe("The last write to the audit target failed; audited operations are refused until a write succeeds.");
    }

    [Fact]
    public async Task A_redirect_is_not_followed_so_the_key_never_reaches_the_address_it_names()
    {
        await using var elsewhere = await AuditListener.StartAsync();
        _listener.Answer = ListenerAnswer.Redirect;
        _listener.RedirectTo = elsewhere.Address;
        await using var target = NewTarget(new ServerAuditTargetOptions(TimeSpan.FromSeconds(5), 0, TimeSpan.Zero) { InitialBackoff = TimeSpan.FromMinutes(5) });

        var failure = await Should.ThrowAsync<AuditTargetException>(() => target.Enqueue(Line(1), blocking: true).WaitAsync(Patience));

        failure.Message.ShouldBe($"The audit line could not be made durable in {target.Description}: The audit server answered 307 (Temporary Redirect) instead of 201.");
        _listener.Requests.ShouldBe(1);
        elsewhere.Requests.ShouldBe(0, "the key travels in a header that a followed redirect would carry to the other address");
    }

    [Fact]
    public async Task The_description_leaves_out_user_information_and_the_query()
    {
        await using var target = new ServerAuditTarget(new Uri("https://user:secret@audit.example.com/seq/?apiKey=x"), ApiKey, _log);

        target.Description.ShouldBe("server https://audit.example.com/seq");
    }

    [Fact]
    public async Task Lines_held_by_a_slow_server_count_as_queued_until_it_answers()
    {
        await using var target = NewTarget();
        _listener.Hold();
        var written = target.Enqueue(Line(1), blocking: true);
        await target.Enqueue(Line(22), blocking: false);
        target.QueuedLines.ShouldBe(2);
        target.QueuedBytes.ShouldBe(Line(1).Length + 1 + Line(22).Length + 1);
        target.DurableLines.ShouldBe(0);

        _listener.Release();
        await written.WaitAsync(Patience);
        await Poll.UntilAsync(() => target.QueuedLines == 0 && target.DurableLines == 2, Patience, "the second line");
        target.QueuedBytes.ShouldBe(0);
    }

    [Fact]
    public async Task A_burst_is_sent_in_posts_of_at_most_500_lines_and_at_most_512_KB()
    {
        await using var target = NewTarget();
        _listener.Hold();
        await target.Enqueue(Line(0), blocking: false);
        await Poll.UntilAsync(() => _listener.Requests == 1, Patience, "the first POST");
        for (var i = 1; i <= 1001; i++)
            await target.Enqueue(Line(i), blocking: false);
        // 100 KB lines: five fit in 512 KB with their line breaks, a sixth would not.
        var big = Enumerable.Range(0, 12).Select(i => Encoding.UTF8.GetBytes($"{{\"Big\":{i},\"Pad\":\"{new string('x', 100 * 1024 - 20)}\"}}")).ToList();
        foreach (var line in big)
            await target.Enqueue(line, blocking: false);
        _listener.Release();

        await Poll.UntilAsync(() => _listener.AcceptedLines.Count == 1002 + 12, Patience, "every line");
        _listener.Posts.Select(p => p.Lines.Count).ShouldBe([1, 500, 500, 6, 5, 2], "the last short line goes with the first five long ones");
        _listener.AcceptedLines.Take(1002).ShouldBe(Enumerable.Range(0, 1002).Select(Text));
    }

    static int UnusedPort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}

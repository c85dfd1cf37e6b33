using Microsoft.Extensions.Logging;
using Seq.Tests.Support;
using System.Diagnostics;
using System.Runtime.Versioning;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Security;

// The providers here are shell scripts, and the process checks read /proc.
[UnsupportedOSPlatform("windows")]
public sealed class SecretKeyProviderTests : IDisposable
{
    const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    readonly string _directory = TestDirectories.NewPath("key-provider");
    readonly string _root;
    readonly RecordingLogger _log = new();

    public SecretKeyProviderTests()
    {
        Directory.CreateDirectory(_directory);
        _root = Path.Combine(_directory, "storage");
    }

    string Script(string body)
    {
        var path = Path.Combine(_directory, $"provider-{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, Executable);
        return path;
    }

    Task<SecretKey> LoadAsync(string provider, string? arguments = null, TimeSpan? timeout = null, string? configuredKey = null) =>
        SecretKeyLoader.LoadAsync(_root, new SecretKeyOptions(configuredKey, provider, arguments, timeout ?? TimeSpan.FromSeconds(30)), _log, default);

    [Fact]
    public async Task The_key_a_provider_prints_is_used_and_not_written_to_disk()
    {
        var key = SecretKey.Generate();
        var provider = Script($"printf '  %s\\n\\n' '{key.ToBase64()}'");

        var loaded = await LoadAsync(provider);

        loaded.Matches(key).ShouldBeTrue();
        _log.Entries.ShouldHaveSingleItem().ShouldBe((LogLevel.Information, $"Using secret key {key.KeyId} from the secret key provider "));
        File.Exists(Path.Combine(_root, "SecretKey")).ShouldBeFalse();
        _log.Text.ShouldNotContain(key.ToBase64());
    }

    [Fact]
    public async Task Arguments_in_double_quotes_reach_the_provider_as_one_argument_without_a_shell()
    {
        var received = Path.Combine(_directory, "arguments");
        var provider = Script($"for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done > '{received}'\nprintf '%s' '{SecretKey.Generate().ToBase64()}'");

        await LoadAsync(provider, "  --vault \"two words\"  plain \"\" $HOME;`id` ");

        File.ReadAllLines(received).ShouldBe(["[--vault]", "[two words]", "[plain]", "[]", "[$HOME;`id`]"]);
    }

    [Fact]
    public async Task A_provider_that_fails_is_reported_with_its_exit_code_and_a_redacted_tail_of_its_errors()
    {
        var key = SecretKey.Generate();
        var provider = Script($"echo '{key.ToBase64()}'\necho 'vault: access denied for {key.ToBase64()}' >&2\nexit 3");

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(provider));

        refused.Message.ShouldContain(provider);
        refused.Message.ShouldContain("exit code 3");
        refused.Message.ShouldContain("vault: access denied for ********");
        refused.Message.ShouldNotContain(key.ToBase64());
    }

    [Fact]
    public async Task Only_a_short_tail_of_a_long_error_output_is_shown()
    {
        var provider = Script("i=0; while [ $i -lt 2000 ]; do echo \"line $i of noise\" >&2; i=$((i+1)); done\necho 'the real reason' >&2\nexit 1");

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(provider));

        refused.Message.ShouldContain("the real reason");
        refused.Message.ShouldNotContain("line 1 of noise");
        refused.Message.Length.ShouldBeLessThan(500);
    }

    [Theory]
    [InlineData("echo 'this is not a key'")]
    [InlineData("echo 'c2hvcnQ='")]
    [InlineData("head -c 100000 /dev/zero | tr '\\0' 'A'")]
    public async Task A_provider_that_prints_something_other_than_a_key_is_reported_without_repeating_it(string body)
    {
        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(Script(body)));

        refused.Message.ShouldContain("did not print a valid secret key");
        refused.Message.ShouldNotContain("this is not a key");
        refused.Message.ShouldNotContain("c2hvcnQ=");
        refused.Message.ShouldNotContain("AAAA");
    }

    [Fact]
    public async Task A_provider_that_prints_nothing_is_reported()
    {
        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(Script("exit 0")));

        refused.Message.ShouldContain("printed nothing");
    }

    [Fact]
    public async Task A_provider_that_runs_past_the_time_limit_is_stopped_with_its_children()
    {
        var pids = Path.Combine(_directory, "pids");
        var provider = Script($"echo $$ > '{pids}'\nsleep 120 &\necho $! >> '{pids}'\nwait");
        var stopwatch = Stopwatch.StartNew();

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(provider, timeout: TimeSpan.FromSeconds(1)));

        refused.Message.ShouldContain("did not finish within 1 s");
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(20));
        var started = File.ReadAllLines(pids).Select(int.Parse).ToList();
        started.Count.ShouldBe(2);
        await Poll.UntilAsync(() => started.All(IsGone), TimeSpan.FromSeconds(10), "every started process to be gone");
    }

    [Fact]
    public async Task A_provider_that_is_not_there_is_reported()
    {
        var missing = Path.Combine(_directory, "no-such-provider");

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(missing));

        refused.Message.ShouldContain(missing);
        refused.Message.ShouldContain("could not be started");
    }

    [Fact]
    public async Task A_provider_that_is_not_executable_is_reported()
    {
        var provider = Script($"echo '{SecretKey.Generate().ToBase64()}'");
        File.SetUnixFileMode(provider, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(provider));

        refused.Message.ShouldContain("could not be started");
    }

    [Fact]
    public async Task A_provider_key_that_differs_from_the_key_the_storage_was_initialized_with_is_refused()
    {
        var original = await SecretKeyLoader.LoadAsync(_root, new SecretKeyOptions(null, null, null, TimeSpan.FromSeconds(30)), _log, default);
        var other = SecretKey.Generate();

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(Script($"echo '{other.ToBase64()}'")));

        refused.Message.ShouldBe(
            $"The storage was initialized with a different secret key: SecretKey under the storage root holds secret key {original.KeyId}, " +
            $"but the secret key provider gives secret key {other.KeyId}. Make the provider print the original key.");
        refused.Message.ShouldNotContain(original.ToBase64());
        refused.Message.ShouldNotContain(other.ToBase64());
        (await LoadAsync(Script($"echo '{original.ToBase64()}'"))).Matches(original).ShouldBeTrue();
    }

    [Fact]
    public async Task A_provider_and_a_configured_key_that_disagree_are_refused()
    {
        var provided = SecretKey.Generate();
        var configured = SecretKey.Generate();

        var refused = await Should.ThrowAsync<SecretKeyException>(
            () => LoadAsync(Script($"echo '{provided.ToBase64()}'"), configuredKey: configured.ToBase64()));

        refused.Message.ShouldBe(
            $"SEQ_STORAGE_SECRETKEY (secret key {configured.KeyId}) and the secret key provider (secret key {provided.KeyId}) disagree. Set only one of them.");
        refused.Message.ShouldNotContain(provided.ToBase64());
        refused.Message.ShouldNotContain(configured.ToBase64());
    }

    [Fact]
    public async Task An_unclosed_quote_in_the_arguments_is_refused_without_repeating_them()
    {
        var refused = await Should.ThrowAsync<SecretKeyException>(
            () => LoadAsync(Script("exit 0"), "--token \"s3cr3t"));

        refused.Message.ShouldContain("SEQ_SECRETKEY_PROVIDERARGS");
        refused.Message.ShouldNotContain("s3cr3t");
    }

    [Fact]
    public async Task A_provider_that_reads_its_standard_input_finds_it_closed_and_is_not_held_up()
    {
        var key = SecretKey.Generate();
        var provider = Script($"cat > /dev/null\nprintf '%s' '{key.ToBase64()}'");

        (await LoadAsync(provider, timeout: TimeSpan.FromSeconds(10))).Matches(key).ShouldBeTrue();
    }

    [Fact]
    public async Task A_provider_that_fails_without_a_word_is_reported_with_its_exit_code_alone()
    {
        var provider = Script("exit 4");

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(provider));

        refused.Message.ShouldBe($"The secret key provider {provider} failed with exit code 4.");
    }

    [Fact]
    public async Task A_start_cancelled_while_the_provider_runs_stops_it_and_is_a_cancellation_not_a_time_limit()
    {
        var pids = Path.Combine(_directory, "pids");
        var provider = Script($"echo $$ > '{pids}'\nexec sleep 120");
        using var cancel = new CancellationTokenSource();
        var load = SecretKeyLoader.LoadAsync(_root, new SecretKeyOptions(null, provider, null, TimeSpan.FromSeconds(60)), _log, cancel.Token);
        await Poll.UntilAsync(() => File.Exists(pids) && File.ReadAllText(pids).EndsWith('\n'), "the provider to start");

        await cancel.CancelAsync();

        var thrown = await Should.ThrowAsync<Exception>(() => load.WaitAsync(TimeSpan.FromSeconds(30)));
        thrown.ShouldBeAssignableTo<OperationCanceledException>();
        var pid = int.Parse(File.ReadAllText(pids).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Poll.UntilAsync(() => IsGone(pid), TimeSpan.FromSeconds(10), "the provider to be stopped");
    }

    [Fact]
    public void What_the_provider_printed_is_blanked_out_of_its_errors_even_when_it_does_not_look_like_a_key()
    {
        SecretKeyProvider.Sanitize("vault said: hunter2-password\nis not accepted", "hunter2-password")
            .ShouldBe("vault said: ******** is not accepted");
        SecretKeyProvider.Sanitize("plain error", "").ShouldBe("plain error");
    }

    [Fact]
    public void Errors_of_up_to_two_hundred_characters_are_shown_whole_and_longer_ones_by_their_last_two_hundred()
    {
        var exact = string.Concat(Enumerable.Repeat("ab d", 50));
        SecretKeyProvider.Sanitize(exact, "").ShouldBe(exact);

        var longer = "Z" + exact;
        SecretKeyProvider.Sanitize(longer, "").ShouldBe("…" + exact);
    }

    // A killed child that nobody has reaped yet is a zombie: it no longer runs.
    static bool IsGone(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return true;
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

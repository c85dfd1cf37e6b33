using Seq.Tests.Support;
using Microsoft.Extensions.Logging;
using System.Runtime.Versioning;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Security;

// File modes are what keeps the key file private on Linux; on Windows the storage root's ACL has to.
[UnsupportedOSPlatform("windows")]
public sealed class SecretKeyLoaderTests : IDisposable
{
    const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    readonly string _parent = TestDirectories.NewPath("key-loader");
    readonly string _root;
    readonly string _keyFile;
    readonly RecordingLogger _log = new();

    public SecretKeyLoaderTests()
    {
        _root = Path.Combine(_parent, "storage");
        _keyFile = Path.Combine(_root, "SecretKey");
    }

    static SecretKeyOptions Options(string? configuredKey = null) => new(configuredKey, null, null, TimeSpan.FromSeconds(30));

    Task<SecretKey> LoadAsync(string? configuredKey = null) => SecretKeyLoader.LoadAsync(_root, Options(configuredKey), _log, default);

    [Fact]
    public async Task The_key_given_at_first_start_is_written_owner_only_and_used_again_on_a_restart_without_it()
    {
        var configured = SecretKey.Generate().ToBase64();

        var first = await LoadAsync(configured);

        first.ToBase64().ShouldBe(configured);
        File.ReadAllText(_keyFile).Trim().ShouldBe(configured);
        File.GetUnixFileMode(_keyFile).ShouldBe(OwnerReadWrite);
        Directory.GetFiles(_root).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)).ShouldBe([_keyFile]);

        var restarted = await LoadAsync();

        restarted.ToBase64().ShouldBe(configured);
        _log.Text.ShouldNotContain(configured);
        _log.Text.ShouldContain(first.KeyId);
    }

    [Fact]
    public async Task A_restart_with_a_different_key_is_refused_naming_both_key_ids_and_the_key_file_is_unchanged()
    {
        var original = SecretKey.Generate();
        await LoadAsync(original.ToBase64());
        var before = File.ReadAllBytes(_keyFile);
        var other = SecretKey.Generate();

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync(other.ToBase64()));

        refused.Message.ShouldBe(
            $"The storage was initialized with a different secret key: SecretKey under the storage root holds secret key {original.KeyId}, " +
            $"but SEQ_STORAGE_SECRETKEY gives secret key {other.KeyId}. Start the server with the original key, or without SEQ_STORAGE_SECRETKEY.");
        refused.Message.ShouldNotContain(original.ToBase64());
        refused.Message.ShouldNotContain(other.ToBase64());
        File.ReadAllBytes(_keyFile).ShouldBe(before);
        (await LoadAsync(original.ToBase64())).Matches(original).ShouldBeTrue();
    }

    [Fact]
    public async Task With_nothing_configured_a_key_is_generated_kept_and_used_again_on_a_restart()
    {
        var generated = await LoadAsync();

        File.ReadAllText(_keyFile).Trim().ShouldBe(generated.ToBase64());
        File.GetUnixFileMode(_keyFile).ShouldBe(OwnerReadWrite);
        (await LoadAsync()).Matches(generated).ShouldBeTrue();
        _log.Text.ShouldNotContain(generated.ToBase64());
        _log.Text.ShouldContain(generated.KeyId);
    }

    [Fact]
    public async Task Servers_starting_together_on_a_fresh_storage_root_all_end_up_with_the_same_key()
    {
        using var start = new Barrier(16);
        var keys = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(30)).ShouldBeTrue();
            return LoadAsync();
        }, TaskCreationOptions.LongRunning).Unwrap()));

        var kept = SecretKey.FromBase64(File.ReadAllText(_keyFile));
        keys.ShouldAllBe(key => key.Matches(kept));
        Directory.GetFiles(_root).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)).ShouldBe([_keyFile]);
    }

    [Fact]
    public async Task A_key_file_others_can_read_is_used_with_a_warning()
    {
        var key = await LoadAsync();
        File.SetUnixFileMode(_keyFile, OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        (await LoadAsync()).Matches(key).ShouldBeTrue();

        var warning = _log.Entries.Where(e => e.Level == LogLevel.Warning).ShouldHaveSingleItem();
        warning.Message.ShouldContain("0644");
        warning.Message.ShouldContain(_keyFile);
        File.GetUnixFileMode(_keyFile).ShouldBe(OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    [Fact]
    public async Task A_key_file_that_does_not_hold_a_key_is_reported_without_repeating_its_contents()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(_keyFile, "half-of-a-key-c2VjcmV0");

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync());

        refused.Message.ShouldContain(_keyFile);
        refused.Message.ShouldNotContain("half-of-a-key");
        File.ReadAllText(_keyFile).ShouldBe("half-of-a-key-c2VjcmV0");
    }

    [Fact]
    public async Task A_configured_value_that_is_not_a_key_is_refused_and_nothing_is_written()
    {
        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync("not-a-key-but-a-password"));

        refused.Message.ShouldContain("SEQ_STORAGE_SECRETKEY");
        refused.Message.ShouldNotContain("not-a-key-but-a-password");
        File.Exists(_keyFile).ShouldBeFalse();
    }

    [Fact]
    public void Options_are_read_from_settings_by_their_names_and_never_print_the_key()
    {
        var key = SecretKey.Generate().ToBase64();
        var settings = new Dictionary<string, string?>
        {
            ["SEQ_STORAGE_SECRETKEY"] = $" {key} ",
            ["SEQ_SECRETKEY_PROVIDER"] = "/usr/local/bin/fetch-key",
            ["SEQ_SECRETKEY_PROVIDERARGS"] = "--vault-token s3cr3t",
        };

        var options = SecretKeyOptions.FromSettings(name => settings.GetValueOrDefault(name, null));

        options.ShouldBe(new SecretKeyOptions(key, "/usr/local/bin/fetch-key", "--vault-token s3cr3t", TimeSpan.FromSeconds(30)));
        options.ToString().ShouldNotContain(key);
        options.ToString().ShouldNotContain("s3cr3t");
        SecretKeyOptions.FromSettings(_ => "  ").ShouldBe(new SecretKeyOptions(null, null, null, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Each_start_logs_by_key_id_where_its_key_came_from_and_an_owner_only_file_draws_no_warning()
    {
        var configured = SecretKey.Generate();
        await LoadAsync(configured.ToBase64());
        _log.Entries.ShouldHaveSingleItem().ShouldBe(
            (LogLevel.Information, $"Stored secret key {configured.KeyId} from SEQ_STORAGE_SECRETKEY in {_keyFile} "));

        var restarted = new RecordingLogger();
        await SecretKeyLoader.LoadAsync(_root, Options(), restarted, default);
        restarted.Entries.ShouldHaveSingleItem().ShouldBe((LogLevel.Information, $"Using secret key {configured.KeyId} from {_keyFile} "));

        Directory.Delete(_root, recursive: true);
        var generatedLog = new RecordingLogger();
        var generated = await SecretKeyLoader.LoadAsync(_root, Options(), generatedLog, default);
        generatedLog.Entries.ShouldHaveSingleItem().ShouldBe((LogLevel.Information,
            $"Generated secret key {generated.KeyId} and stored it in {_keyFile}; backups cannot be restored without it, so save it " +
            "somewhere safe (`seqsvr show-key` prints it) "));
    }

    [Fact]
    public async Task The_key_file_holds_the_key_in_base64_on_one_line()
    {
        var key = await LoadAsync();

        File.ReadAllText(_keyFile).ShouldBe(key.ToBase64() + "\n");
    }

    [Fact]
    public async Task A_start_that_finds_the_key_file_being_created_by_another_process_waits_for_it()
    {
        Directory.CreateDirectory(_root);
        var lockPath = Path.Combine(_root, ".SecretKey.lock");
        Task<SecretKey> load;
        using (new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            load = LoadAsync();
            (await Task.WhenAny(load, Task.Delay(TimeSpan.FromMilliseconds(300)))).ShouldNotBe(load, "the creation lock is held");
            File.Exists(_keyFile).ShouldBeFalse();
        }

        var key = await load.WaitAsync(TimeSpan.FromSeconds(30));
        SecretKey.FromBase64(File.ReadAllText(_keyFile)).Matches(key).ShouldBeTrue();
    }

    [Fact]
    public async Task The_creation_lock_file_is_owner_only()
    {
        await LoadAsync();

        File.GetUnixFileMode(Path.Combine(_root, ".SecretKey.lock")).ShouldBe(OwnerReadWrite);
    }

    [Fact]
    public async Task A_storage_root_that_cannot_be_created_is_reported_and_nothing_is_written()
    {
        Directory.CreateDirectory(_parent);
        var blocker = Path.Combine(_parent, "a-file");
        File.WriteAllText(blocker, "");
        var root = Path.Combine(blocker, "storage");

        var refused = await Should.ThrowAsync<SecretKeyException>(() => SecretKeyLoader.LoadAsync(root, Options(), _log, default));

        refused.Message.ShouldStartWith($"The storage root {root} could not be created to keep the secret key in: ");
        Directory.GetFileSystemEntries(_parent).ShouldBe([blocker]);
    }

    [Fact]
    public async Task A_key_file_that_cannot_be_written_is_reported_and_leaves_no_temporary_file()
    {
        // A directory where the key file belongs: the rename of the written key onto it fails.
        Directory.CreateDirectory(_keyFile);

        var refused = await Should.ThrowAsync<SecretKeyException>(() => LoadAsync());

        refused.Message.ShouldStartWith($"The secret key file {_keyFile} could not be written: ");
        Directory.GetFiles(_root).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)).ShouldBeEmpty();
        Directory.GetFileSystemEntries(_keyFile).ShouldBeEmpty();
    }

    [Fact]
    public void The_options_show_whether_a_key_and_provider_arguments_are_set_but_not_what_they_are()
    {
        new SecretKeyOptions("a-key", "/usr/local/bin/fetch-key", "--token t", TimeSpan.FromSeconds(7)).ToString().ShouldBe(
            "SecretKeyOptions { ConfiguredKey = ********, ProviderPath = /usr/local/bin/fetch-key, ProviderArguments = ********, ProviderTimeout = 00:00:07 }");
        new SecretKeyOptions(null, null, null, TimeSpan.FromSeconds(30)).ToString().ShouldBe(
            "SecretKeyOptions { ConfiguredKey = null, ProviderPath = null, ProviderArguments = null, ProviderTimeout = 00:00:30 }");
    }

    public void Dispose()
    {
        if (Directory.Exists(_parent))
            Directory.Delete(_parent, recursive: true);
    }
}

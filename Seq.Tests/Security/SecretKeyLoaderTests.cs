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

        refused.Message.ShouldContain("initialized with a different secret key");
        refused.Message.ShouldContain(original.KeyId);
        refused.Message.ShouldContain(other.KeyId);
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

    public void Dispose()
    {
        if (Directory.Exists(_parent))
            Directory.Delete(_parent, recursive: true);
    }
}

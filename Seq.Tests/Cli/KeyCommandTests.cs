using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Cli;

public sealed class KeyCommandTests : IDisposable
{
    readonly Seqsvr _seqsvr = new();

    Task<SecretKey> LoadAsServerDoesAsync() =>
        SecretKeyLoader.LoadAsync(_seqsvr.StorageRoot, SecretKeyOptions.FromSettings(_seqsvr.GetEnvironmentVariable), NullLogger.Instance, default);

    [Fact]
    public async Task Show_key_generate_prints_a_new_32_byte_key_each_time_and_creates_nothing_under_the_storage_root()
    {
        var first = await _seqsvr.RunAsync("show-key", "--generate");
        var second = await _seqsvr.RunAsync("show-key", "--generate");

        first.ExitCode.ShouldBe(0);
        second.ExitCode.ShouldBe(0);
        Convert.FromBase64String(first.Output.Trim()).Length.ShouldBe(32);
        Convert.FromBase64String(second.Output.Trim()).Length.ShouldBe(32);
        first.Output.ShouldNotBe(second.Output);
        SecretKey.FromBase64(first.Output.Trim()).ToBase64().ShouldBe(first.Output.Trim());
        Directory.Exists(_seqsvr.StorageRoot).ShouldBeFalse();
    }

    [Fact]
    public async Task Show_key_prints_the_key_the_server_loads_from_the_storage_root()
    {
        var serverKey = await LoadAsServerDoesAsync();

        var shown = await _seqsvr.RunAsync("show-key");

        shown.ExitCode.ShouldBe(0);
        shown.Output.Trim().ShouldBe(serverKey.ToBase64());
    }

    [Fact]
    public async Task Show_key_on_a_storage_root_that_does_not_exist_refuses_in_one_line_and_creates_nothing()
    {
        var shown = await _seqsvr.RunAsync("show-key");

        shown.ShouldBeAOneLineRefusal();
        shown.Error.ShouldContain(_seqsvr.StorageRoot);
        shown.Error.ShouldContain("--generate");
        Directory.Exists(_seqsvr.StorageRoot).ShouldBeFalse();
    }

    [Fact]
    public async Task Show_key_on_a_storage_root_with_settings_but_no_instance_refuses_and_stores_no_key()
    {
        (await _seqsvr.RunAsync("config", "set", "-k", "audit.auditPath", "-v", "/data/Audit")).ExitCode.ShouldBe(0);
        _seqsvr.Environment["SEQ_STORAGE_SECRETKEY"] = SecretKey.Generate().ToBase64();

        var shown = await _seqsvr.RunAsync("show-key");

        shown.ShouldBeAOneLineRefusal();
        File.Exists(Path.Combine(_seqsvr.StorageRoot, SecretKeyLoader.KeyFileName)).ShouldBeFalse();
    }

    [Fact]
    public async Task Show_key_prints_the_key_given_in_SEQ_STORAGE_SECRETKEY_at_first_start()
    {
        var given = SecretKey.Generate().ToBase64();
        _seqsvr.Environment["SEQ_STORAGE_SECRETKEY"] = given;
        await LoadAsServerDoesAsync();

        var shown = await _seqsvr.RunAsync("show-key");

        shown.ExitCode.ShouldBe(0);
        shown.Output.Trim().ShouldBe(given);
    }

    [Fact]
    public async Task Show_key_with_a_different_secret_key_than_the_storage_holds_exits_1_and_prints_neither_key()
    {
        var stored = await LoadAsServerDoesAsync();
        var other = SecretKey.Generate().ToBase64();
        _seqsvr.Environment["SEQ_STORAGE_SECRETKEY"] = other;

        var shown = await _seqsvr.RunAsync("show-key");

        shown.ExitCode.ShouldBe(1);
        shown.Output.ShouldBeEmpty();
        shown.Error.ShouldContain("different secret key");
        shown.Everything.ShouldNotContain(other);
        shown.Everything.ShouldNotContain(stored.ToBase64());
    }

    [Fact]
    public async Task Show_key_exits_1_with_a_clear_message_when_the_configured_provider_cannot_be_run()
    {
        _seqsvr.Environment["SEQ_SECRETKEY_PROVIDER"] = Path.Combine(_seqsvr.StorageRoot, "no-such-provider");

        var shown = await _seqsvr.RunAsync("show-key");

        shown.ExitCode.ShouldBe(1);
        shown.Output.ShouldBeEmpty();
        shown.Error.ShouldNotBeEmpty();
        shown.Error.ShouldNotContain("   at ");
    }

    [Fact]
    public async Task The_seqsvr_executable_prints_a_generated_key_and_exits_0()
    {
        var start = new ProcessStartInfo(System.Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "seqsvr.dll"), "show-key", "--generate", "--storage", _seqsvr.StorageRoot })
            start.ArgumentList.Add(argument);

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        process.ExitCode.ShouldBe(0);
        Convert.FromBase64String(output.Trim()).Length.ShouldBe(32);
        Directory.Exists(_seqsvr.StorageRoot).ShouldBeFalse();
    }

    public void Dispose() => _seqsvr.Dispose();
}

using System.Globalization;
using System.Net;
using Seq.Infrastructure.Storage;
using Seq.Tests.Cli;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

/// <summary>One server per storage root; the command line shares the root with it safely.</summary>
public sealed class StorageRootLockTests : IDisposable
{
    readonly Seqsvr _cli = new();

    string Root => _cli.StorageRoot;

    [Fact]
    public async Task A_second_server_on_the_same_storage_root_refuses_in_one_line_naming_the_root_and_the_holder_and_the_first_keeps_serving()
    {
        await using var first = SeqsvrProcess.Start(Root);
        await first.WaitUntilHealthyAsync();
        var before = Snapshot();

        await using var second = SeqsvrProcess.Start(Root);
        (await second.WaitForExitAsync()).ShouldBe(1);

        var lines = second.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(1, second.Output);
        lines[0].ShouldContain(Root);
        lines[0].ShouldContain(first.ProcessId.ToString(CultureInfo.InvariantCulture));
        Snapshot().ShouldBe(before);
        first.HasExited.ShouldBeFalse();
        using (var health = await first.Client.GetAsync("/health"))
            health.StatusCode.ShouldBe(HttpStatusCode.OK);
        await first.LoginAsAdminAsync();
        first.Output.ShouldNotContain("Exception");
    }

    [Fact]
    public async Task The_command_line_reads_and_changes_settings_while_the_server_runs()
    {
        await using var server = SeqsvrProcess.Start(Root);
        await server.WaitUntilHealthyAsync();

        var set = await _cli.RunAsync("config", "set", "-k", "audit.queueLimit", "-v", "2000");
        set.ExitCode.ShouldBe(0, set.Everything);
        var get = await _cli.RunAsync("config", "get", "-k", "audit.queueLimit");
        get.ExitCode.ShouldBe(0, get.Everything);
        get.Output.Trim().ShouldBe("2000");
        (await _cli.RunAsync("config", "list")).ExitCode.ShouldBe(0);
        var key = await _cli.RunAsync("show-key");
        key.ExitCode.ShouldBe(0, key.Everything);
        key.Output.Trim().ShouldNotBeEmpty();
        var secret = await _cli.RunWithInputAsync("an-api-key\n", "secret", "set", "-k", "audit.auditServerApiKey");
        secret.ExitCode.ShouldBe(0, secret.Everything);

        using var health = await server.Client.GetAsync("/health");
        health.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Concurrent_config_set_runs_of_different_keys_all_persist()
    {
        string[] keys = ["audit.queueLimit", "audit.writeTimeoutSeconds", "audit.minimumFreeSpaceMB", "firstRun.adminUsername"];
        for (var round = 1; round <= 8; round++)
        {
            var values = keys.Select((key, i) => key == "firstRun.adminUsername" ? $"admin{round}" : (round * 10 + i + 1).ToString(CultureInfo.InvariantCulture)).ToArray();

            var runs = await Task.WhenAll(keys.Select((key, i) => Task.Run(() => _cli.RunAsync("config", "set", "-k", key, "-v", values[i]))));

            foreach (var run in runs)
                run.ExitCode.ShouldBe(0, run.Everything);
            for (var i = 0; i < keys.Length; i++)
                (await _cli.RunAsync("config", "get", "-k", keys[i])).Output.Trim().ShouldBe(values[i], $"round {round}, {keys[i]}");
        }
    }

    // What a server that refuses must leave alone: every entry of the root and the contents of its own files.
    string Snapshot() =>
        string.Join('\n', Directory.EnumerateFileSystemEntries(Root).Order(StringComparer.Ordinal).Select(entry =>
            Path.GetFileName(entry) == StorageRootLock.FileName ? $"{entry} held by {FileLock.ReadHolder(entry)}"
            : File.Exists(entry) ? $"{entry} {Convert.ToHexString(File.ReadAllBytes(entry))}" : entry));

    public void Dispose() => _cli.Dispose();
}

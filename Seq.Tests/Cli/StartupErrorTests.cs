using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Seq.Application.Security;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Cli;

/// <summary>The real <c>seqsvr</c> process refusing to start: one line on standard error, exit code 1, no stack trace.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StartupErrorTests : IDisposable
{
    readonly string _root = TestDirectories.NewPath("startup");

    string Storage => Path.Combine(_root, "storage");

    public StartupErrorTests() => Directory.CreateDirectory(_root);

    static async Task<string> RefusedInOneLineAsync(SeqsvrProcess server)
    {
        (await server.WaitForExitAsync()).ShouldBe(1, server.Output);
        server.ErrorLines.Count.ShouldBe(1, server.Output);
        server.Output.ShouldNotContain("   at ");
        server.Output.ShouldNotContain("Exception");
        return server.ErrorLines[0];
    }

    [Fact]
    public async Task A_malformed_connection_string_in_the_environment_is_one_line_and_nothing_is_created()
    {
        await using var server = SeqsvrProcess.Start(Storage, new Dictionary<string, string?> { ["SEQ_STORAGE_CONNECTIONSTRING"] = "garbage" });

        var line = await RefusedInOneLineAsync(server);

        line.ShouldContain("SEQ_STORAGE_CONNECTIONSTRING");
        line.ShouldContain("not a PostgreSQL connection string");
        Directory.Exists(Storage).ShouldBeFalse();
    }

    [Fact]
    public async Task A_malformed_connection_string_stored_before_it_was_checked_is_one_line_naming_the_fix()
    {
        var key = SecretKey.Generate();
        await SecretKeyLoader.LoadAsync(Storage, new SecretKeyOptions(key.ToBase64(), null, null, TimeSpan.FromSeconds(5)),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, default);
        var stored = new AesGcmSecretProtector(key).Protect("Host=db;Nonsense=1", $"{SecretPurposes.HostConfiguration}/storage.connectionString");
        await File.WriteAllTextAsync(Path.Combine(Storage, HostConfiguration.FileName),
            new JsonObject { ["storage"] = new JsonObject { ["connectionString"] = stored } }.ToJsonString());
        File.SetUnixFileMode(Path.Combine(Storage, HostConfiguration.FileName), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        await using var server = SeqsvrProcess.Start(Storage);

        var line = await RefusedInOneLineAsync(server);
        line.ShouldContain("storage.connectionString");
        line.ShouldContain("seqsvr secret set");
        Directory.Exists(Path.Combine(Storage, "PostgreSQL")).ShouldBeFalse();
    }

    [Theory]
    [InlineData("")]
    [InlineData("below")]
    public async Task An_audit_path_that_is_a_file_or_under_one_is_one_line_and_nothing_is_created(string below)
    {
        var file = Path.Combine(_root, "audit");
        await File.WriteAllTextAsync(file, "not a directory");

        await using var server = SeqsvrProcess.Start(Storage, new Dictionary<string, string?> { ["SEQ_AUDIT_AUDITPATH"] = Path.Combine(file, below) });

        var line = await RefusedInOneLineAsync(server);
        line.ShouldContain("SEQ_AUDIT_AUDITPATH");
        line.ShouldContain($"{file} is a file");
        Directory.Exists(Storage).ShouldBeFalse();
    }

    [Fact]
    public async Task A_listen_address_already_in_use_is_one_line_naming_it()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        await using var server = SeqsvrProcess.Start(Storage, new Dictionary<string, string?> { ["SEQ_API_LISTENURIS"] = address });

        var line = await RefusedInOneLineAsync(server);
        line.ShouldContain(address);
        line.ShouldContain("already in use");
        line.ShouldContain("SEQ_API_LISTENURIS");
    }

    public void Dispose()
    {
        TestDirectories.Delete(_root);
    }
}

using Seq.Application.Security;
using System.Runtime.Versioning;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Cli;

public sealed class ConfigCommandTests : IDisposable
{
    readonly Seqsvr _seqsvr = new();

    [Fact]
    public async Task A_setting_set_is_read_back_listed_and_cleared()
    {
        (await _seqsvr.RunAsync("config", "set", "-k", "audit.auditPath", "-v", "/data/Audit")).ExitCode.ShouldBe(0);

        var got = await _seqsvr.RunAsync("config", "get", "-k", "audit.auditPath");
        got.ExitCode.ShouldBe(0);
        got.Output.ShouldBe("/data/Audit" + Environment.NewLine);

        var listed = await _seqsvr.RunAsync("config", "list");
        listed.ExitCode.ShouldBe(0);
        listed.Output.ShouldContain("audit.auditPath");
        listed.Output.Split(Environment.NewLine).Single(l => l.StartsWith("audit.auditPath ", StringComparison.Ordinal))
            .ShouldContain("/data/Audit");

        (await _seqsvr.RunAsync("config", "clear", "-k", "audit.auditPath")).ExitCode.ShouldBe(0);
        var cleared = await _seqsvr.RunAsync("config", "get", "-k", "audit.auditPath");
        cleared.ExitCode.ShouldBe(0);
        cleared.Output.ShouldBeEmpty();
        File.ReadAllText(_seqsvr.ConfigurationFile).ShouldNotContain("auditPath");
    }

    [Fact]
    public async Task Keys_are_matched_without_regard_to_case_and_stored_in_canonical_case()
    {
        (await _seqsvr.RunAsync("config", "set", "-k", "AUDIT.AUDITSERVERURL", "-v", "https://seq.example.com:45341")).ExitCode.ShouldBe(0);

        File.ReadAllText(_seqsvr.ConfigurationFile).ShouldContain("\"auditServerUrl\": \"https://seq.example.com:45341\"");
        (await _seqsvr.RunAsync("config", "get", "-k", "audit.auditserverurl")).Output.Trim().ShouldBe("https://seq.example.com:45341");
    }

    [Fact]
    public async Task The_environment_variable_wins_over_the_file()
    {
        (await _seqsvr.RunAsync("config", "set", "-k", "audit.auditPath", "-v", "/from/file")).ExitCode.ShouldBe(0);
        _seqsvr.Environment["SEQ_AUDIT_AUDITPATH"] = "/from/environment";

        var got = await _seqsvr.RunAsync("config", "get", "-k", "audit.auditPath");
        got.Output.Trim().ShouldBe("/from/environment");

        var listed = await _seqsvr.RunAsync("config", "list");
        listed.Output.Split(Environment.NewLine).Single(l => l.StartsWith("audit.auditPath ", StringComparison.Ordinal))
            .ShouldContain("SEQ_AUDIT_AUDITPATH");

        var set = await _seqsvr.RunAsync("config", "set", "-k", "audit.auditPath", "-v", "/from/file/again");
        set.ExitCode.ShouldBe(0);
        set.Error.ShouldContain("SEQ_AUDIT_AUDITPATH");
    }

    [Fact]
    public async Task A_malformed_value_in_an_environment_variable_is_reported_by_its_name()
    {
        _seqsvr.Environment["SEQ_FIRSTRUN_NOAUTHENTICATION"] = "perhaps";

        var got = await _seqsvr.RunAsync("config", "get", "-k", "firstRun.noAuthentication");

        got.ExitCode.ShouldBe(1);
        got.Error.ShouldContain("SEQ_FIRSTRUN_NOAUTHENTICATION");
    }

    [Theory]
    [InlineData("get")]
    [InlineData("set")]
    [InlineData("clear")]
    public async Task An_unknown_key_exits_1_with_a_message_naming_it(string command)
    {
        string[] args = command == "set" ? ["config", command, "-k", "audit.nonsense", "-v", "x"] : ["config", command, "-k", "audit.nonsense"];

        var result = await _seqsvr.RunAsync(args);

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain("audit.nonsense");
        result.Error.ShouldNotContain("   at ");
        File.Exists(_seqsvr.ConfigurationFile).ShouldBeFalse();
    }

    [Theory]
    [InlineData("audit.auditServerUrl", "not a url")]
    [InlineData("audit.auditServerUrl", "ftp://seq.example.com")]
    [InlineData("audit.auditServerUrl", "https://user:password@seq.example.com")]
    [InlineData("api.listenUris", "http://localhost:5341,/relative")]
    [InlineData("audit.auditPath", "relative/path")]
    [InlineData("firstRun.noAuthentication", "yes")]
    [InlineData("firstRun.adminPasswordHash", "hunter2")]
    public async Task A_malformed_value_exits_1_and_leaves_the_file_as_it_was(string key, string value)
    {
        (await _seqsvr.RunAsync("config", "set", "-k", "audit.auditPath", "-v", "/data/Audit")).ExitCode.ShouldBe(0);
        var before = File.ReadAllText(_seqsvr.ConfigurationFile);

        var result = await _seqsvr.RunAsync("config", "set", "-k", key, "-v", value);

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain(key);
        File.ReadAllText(_seqsvr.ConfigurationFile).ShouldBe(before);
    }

    [Fact]
    public async Task Listen_uris_accept_kestrel_wildcard_hosts_and_are_stored_as_a_list()
    {
        (await _seqsvr.RunAsync("config", "set", "-k", "api.listenUris", "-v", "http://*:5341; https://+:443")).ExitCode.ShouldBe(0);

        (await _seqsvr.RunAsync("config", "get", "-k", "api.listenUris")).Output.Trim().ShouldBe("http://*:5341,https://+:443");
        File.ReadAllText(_seqsvr.ConfigurationFile).ShouldContain("\"https://+:443\"");
    }

    [Fact]
    public async Task Config_set_on_a_secret_exits_1_and_says_to_use_secret_set()
    {
        var result = await _seqsvr.RunAsync("config", "set", "-k", "audit.auditServerApiKey", "-v", "abcde12345");

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain("secret set");
        result.Everything.ShouldNotContain("abcde12345");
        File.Exists(_seqsvr.ConfigurationFile).ShouldBeFalse();
    }

    [Fact]
    public async Task Secret_set_stores_only_ciphertext_that_the_host_configuration_decrypts_with_the_instance_key()
    {
        var result = await _seqsvr.RunAsync("secret", "set", "-k", "audit.auditServerApiKey", "-v", "abcde12345");

        result.ExitCode.ShouldBe(0);
        result.Everything.ShouldNotContain("abcde12345");
        var file = File.ReadAllText(_seqsvr.ConfigurationFile);
        file.ShouldContain("\"auditServerApiKey\": \"seqenc:");
        file.ShouldNotContain("abcde12345");

        var configuration = HostConfiguration.Load(_seqsvr.StorageRoot, _seqsvr.GetEnvironmentVariable, new AesGcmSecretProtector(await InstanceKeyAsync()));
        configuration.Get("audit.auditServerApiKey").ShouldBe("abcde12345");
        configuration.EnvironmentAndFile("SEQ_AUDIT_AUDITSERVERAPIKEY").ShouldBe("abcde12345");
    }

    [Fact]
    public async Task The_key_providers_arguments_are_kept_but_never_listed_because_they_may_carry_a_credential()
    {
        (await _seqsvr.RunAsync("config", "set", "-k", "secretKey.providerArgs", "-v", "--token vault-token-123")).ExitCode.ShouldBe(0);

        var listed = await _seqsvr.RunAsync("config", "list");

        listed.ExitCode.ShouldBe(0);
        listed.Everything.ShouldNotContain("vault-token-123");
        listed.Output.ShouldContain("secretKey.providerArgs");
        (await _seqsvr.RunAsync("config", "get", "-k", "secretKey.providerArgs")).Output.Trim().ShouldBe("--token vault-token-123");
    }

    [Fact]
    public async Task A_secret_moved_into_another_secret_setting_in_the_file_does_not_decrypt()
    {
        (await _seqsvr.RunAsync("secret", "set", "-k", "audit.auditServerApiKey", "-v", "api-key-value")).ExitCode.ShouldBe(0);
        (await _seqsvr.RunAsync("secret", "set", "-k", "storage.connectionString", "-v", "Host=db;Password=pw")).ExitCode.ShouldBe(0);

        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(_seqsvr.ConfigurationFile))!;
        var apiKey = json["audit"]!["auditServerApiKey"]!.GetValue<string>();
        json["storage"]!["connectionString"] = apiKey;
        File.WriteAllText(_seqsvr.ConfigurationFile, json.ToJsonString());

        var configuration = HostConfiguration.Load(_seqsvr.StorageRoot, _seqsvr.GetEnvironmentVariable, new AesGcmSecretProtector(await InstanceKeyAsync()));
        configuration.Get("audit.auditServerApiKey").ShouldBe("api-key-value");
        Should.Throw<HostConfigurationException>(() => configuration.Get("storage.connectionString")).Message.ShouldNotContain("api-key-value");
    }

    [Fact]
    public async Task Secret_set_reads_the_value_from_standard_input_when_none_is_given()
    {
        var result = await _seqsvr.RunWithInputAsync("Host=db;Password=pw\n", "secret", "set", "-k", "storage.connectionString");

        result.ExitCode.ShouldBe(0);
        File.ReadAllText(_seqsvr.ConfigurationFile).ShouldNotContain("Password=pw");
        HostConfiguration.Load(_seqsvr.StorageRoot, _seqsvr.GetEnvironmentVariable, new AesGcmSecretProtector(await InstanceKeyAsync()))
            .Get("storage.connectionString").ShouldBe("Host=db;Password=pw");
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("Host=db;Nonsense=1;Password=hunter22")]
    [InlineData("Database=seq;Password=hunter22")]
    public async Task Secret_set_refuses_a_malformed_connection_string_in_one_line_without_creating_a_key_or_repeating_it(string connectionString)
    {
        var result = await _seqsvr.RunAsync("secret", "set", "-k", "storage.connectionString", "-v", connectionString);

        result.ShouldBeAOneLineRefusal();
        result.Error.ShouldContain("storage.connectionString");
        result.Error.ShouldNotContain("hunter22");
        result.Error.ShouldNotContain("Nonsense");
        Directory.Exists(_seqsvr.StorageRoot).ShouldBeFalse();
    }

    [Theory]
    [InlineData("")]
    [InlineData("below")]
    public async Task Config_set_refuses_an_audit_path_that_is_a_file_or_under_one_in_one_line(string below)
    {
        Directory.CreateDirectory(_seqsvr.StorageRoot);
        var file = Path.Combine(_seqsvr.StorageRoot, "audit-file");
        File.WriteAllText(file, "not a directory");

        var result = await _seqsvr.RunAsync("config", "set", "-k", "audit.auditPath", "-v", Path.Combine(file, below));

        result.ShouldBeAOneLineRefusal();
        result.Error.ShouldContain($"{file} is a file");
        File.Exists(_seqsvr.ConfigurationFile).ShouldBeFalse();
    }

    [Fact]
    public async Task Config_set_accepts_an_audit_directory_that_exists_or_can_be_created()
    {
        Directory.CreateDirectory(Path.Combine(_seqsvr.StorageRoot, "audit"));

        (await _seqsvr.RunAsync("config", "set", "-k", "audit.auditPath", "-v", Path.Combine(_seqsvr.StorageRoot, "audit"))).ExitCode.ShouldBe(0);
        (await _seqsvr.RunAsync("config", "set", "-k", "audit.auditPath", "-v", Path.Combine(_seqsvr.StorageRoot, "new", "audit"))).ExitCode.ShouldBe(0);
    }

    [Fact]
    public async Task Secret_set_on_a_setting_that_is_not_secret_exits_1_without_creating_a_key()
    {
        var result = await _seqsvr.RunAsync("secret", "set", "-k", "audit.auditPath", "-v", "/data/Audit");

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain("config set");
        Directory.Exists(_seqsvr.StorageRoot).ShouldBeFalse();
    }

    [Fact]
    public async Task A_secret_stored_under_another_key_cannot_be_read_and_the_message_says_why()
    {
        (await _seqsvr.RunAsync("secret", "set", "-k", "audit.auditServerApiKey", "-v", "abcde12345")).ExitCode.ShouldBe(0);

        var underAnotherKey = HostConfiguration.Load(_seqsvr.StorageRoot, _seqsvr.GetEnvironmentVariable, new AesGcmSecretProtector(SecretKey.Generate()));

        var failure = Should.Throw<HostConfigurationException>(() => underAnotherKey.Get("audit.auditServerApiKey"));
        failure.Message.ShouldContain("audit.auditServerApiKey");
        failure.Message.ShouldContain("secret key");
        failure.Message.ShouldNotContain("abcde12345");
    }

    [Fact]
    public async Task Secrets_are_never_printed_by_get_or_list()
    {
        (await _seqsvr.RunAsync("secret", "set", "-k", "audit.auditServerApiKey", "-v", "file-secret")).ExitCode.ShouldBe(0);

        var got = await _seqsvr.RunAsync("config", "get", "-k", "audit.auditServerApiKey");
        got.ExitCode.ShouldBe(1);
        got.Everything.ShouldNotContain("file-secret");

        _seqsvr.Environment["SEQ_STORAGE_CONNECTIONSTRING"] = "Host=db;Password=environment-secret";
        var listed = await _seqsvr.RunAsync("config", "list");
        listed.ExitCode.ShouldBe(0);
        listed.Everything.ShouldNotContain("file-secret");
        listed.Everything.ShouldNotContain("environment-secret");
        listed.Output.Split(Environment.NewLine).Count(l => l.Contains(HostConfiguration.SecretShown, StringComparison.Ordinal)).ShouldBe(2);
    }

    [Fact]
    public async Task Config_hash_prints_a_well_formed_hash_of_the_password_on_standard_input()
    {
        var result = await _seqsvr.RunWithInputAsync("correct horse battery staple\n", "config", "hash");

        result.ExitCode.ShouldBe(0);
        var hash = result.Output.Trim();
        PasswordHasher.IsWellFormed(hash).ShouldBeTrue();
        new PasswordHasher().Verify("correct horse battery staple", hash).ShouldBe(PasswordVerification.Succeeded);
        result.Everything.ShouldNotContain("correct horse");

        (await _seqsvr.RunAsync("config", "set", "-k", "firstRun.adminPasswordHash", "-v", hash)).ExitCode.ShouldBe(0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    public async Task Config_hash_refuses_an_empty_password(string input)
    {
        var result = await _seqsvr.RunWithInputAsync(input, "config", "hash");

        result.ExitCode.ShouldBe(1);
        result.Output.ShouldBeEmpty();
        result.Error.ShouldContain("empty password");
    }

    [Theory]
    [InlineData("short\n")]
    [InlineData("1234567\n")]
    public async Task Config_hash_refuses_a_password_the_first_run_administrator_could_not_be_given_in_clear(string input)
    {
        var result = await _seqsvr.RunWithInputAsync(input, "config", "hash");

        result.ShouldBeAOneLineRefusal();
        result.Error.ShouldContain("8 to 128 characters");
    }

    [Fact]
    public async Task Config_hash_accepts_a_password_of_the_minimum_length()
    {
        var result = await _seqsvr.RunWithInputAsync("12345678\n", "config", "hash");

        result.ExitCode.ShouldBe(0, result.Everything);
        new PasswordHasher().Verify("12345678", result.Output.Trim()).ShouldBe(PasswordVerification.Succeeded);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task Seq_json_is_owner_only_and_no_temporary_file_is_left_behind()
    {
        (await _seqsvr.RunAsync("config", "set", "-k", "audit.auditPath", "-v", "/data/Audit")).ExitCode.ShouldBe(0);
        (await _seqsvr.RunAsync("config", "set", "-k", "firstRun.noAuthentication", "-v", "True")).ExitCode.ShouldBe(0);

        File.GetUnixFileMode(_seqsvr.ConfigurationFile).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.GetFileSystemEntries(_seqsvr.StorageRoot).ShouldBe([_seqsvr.ConfigurationFile]);
        File.ReadAllText(_seqsvr.ConfigurationFile).ShouldContain("\"noAuthentication\": true");
    }

    [Fact]
    public async Task An_unknown_key_in_Seq_json_is_reported_with_the_file_and_the_key()
    {
        Directory.CreateDirectory(_seqsvr.StorageRoot);
        File.WriteAllText(_seqsvr.ConfigurationFile, """{ "audit": { "auditPath": "/data/Audit", "auditColour": "blue" } }""");

        var result = await _seqsvr.RunAsync("config", "get", "-k", "audit.auditPath");

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain(_seqsvr.ConfigurationFile);
        result.Error.ShouldContain("audit.auditColour");
    }

    [Fact]
    public async Task A_secret_written_into_Seq_json_in_clear_is_refused()
    {
        Directory.CreateDirectory(_seqsvr.StorageRoot);
        File.WriteAllText(_seqsvr.ConfigurationFile, """{ "audit": { "auditServerApiKey": "in-clear" } }""");

        var result = await _seqsvr.RunAsync("config", "list");

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain("secret set");
        result.Everything.ShouldNotContain("in-clear");
    }

    [Fact]
    public void A_hand_written_file_may_use_json_types_comments_and_any_key_case()
    {
        Directory.CreateDirectory(_seqsvr.StorageRoot);
        File.WriteAllText(_seqsvr.ConfigurationFile, """
            {
              // written by hand
              "API": { "listenUris": ["http://localhost:5341", "http://localhost:5342"] },
              "firstRun": { "NoAuthentication": false },
            }
            """);

        var configuration = HostConfiguration.Load(_seqsvr.StorageRoot, _seqsvr.GetEnvironmentVariable);

        configuration.Get("api.listenUris").ShouldBe("http://localhost:5341,http://localhost:5342");
        configuration.EnvironmentAndFile("SEQ_API_LISTENURIS").ShouldBe("http://localhost:5341,http://localhost:5342");
        configuration.Get("firstRun.noAuthentication").ShouldBe("false");
    }

    [Fact]
    public void Names_that_are_not_host_settings_are_looked_up_in_the_environment_only()
    {
        _seqsvr.Environment["SEQ_STORAGE_SECRETKEY"] = "from-environment";

        var configuration = HostConfiguration.Load(_seqsvr.StorageRoot, _seqsvr.GetEnvironmentVariable);

        configuration.EnvironmentAndFile("SEQ_STORAGE_SECRETKEY").ShouldBe("from-environment");
        configuration.EnvironmentAndFile("SEQ_SECRETKEY_PROVIDER").ShouldBeNull();
    }

    [Fact]
    public void Every_setting_is_overridden_by_SEQ_SECTION_KEY()
    {
        HostSettingCatalogue.All.Select(s => s.EnvironmentVariable).ShouldContain("SEQ_AUDIT_AUDITPATH");
        HostSettingCatalogue.All.Select(s => s.EnvironmentVariable).ShouldContain("SEQ_SECRETKEY_PROVIDERARGS");
        HostSettingCatalogue.All.ShouldAllBe(s => s.EnvironmentVariable == "SEQ_" + s.Section.ToUpperInvariant() + "_" + s.Name.ToUpperInvariant());
        HostSettingCatalogue.All.Where(s => s.IsSecret).Select(s => s.Key).ShouldBe(["storage.connectionString", "audit.auditServerApiKey", "firstRun.adminPassword", "api.certificatePassword", "firstRun.ingestApiKey", "diagnostics.seqServerApiKey"], ignoreOrder: true);
    }

    [Theory]
    [InlineData("42", true, "42")]
    [InlineData(" -7 ", true, "-7")]
    [InlineData("4.2", false, null)]
    [InlineData("lots", false, null)]
    public void Integer_settings_accept_only_whole_numbers(string value, bool accepted, string? normalized)
    {
        var setting = new HostSetting("test", "count", HostSettingKind.Integer, false, "A number.");

        setting.TryNormalize(value, out var result, out var problem).ShouldBe(accepted);

        if (accepted)
            result.ShouldBe(normalized);
        else
            problem.ShouldNotBeNull().ShouldContain("test.count");
    }

    Task<SecretKey> InstanceKeyAsync() =>
        SecretKeyLoader.LoadAsync(_seqsvr.StorageRoot, SecretKeyOptions.FromSettings(_seqsvr.GetEnvironmentVariable),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, default);

    public void Dispose() => _seqsvr.Dispose();
}

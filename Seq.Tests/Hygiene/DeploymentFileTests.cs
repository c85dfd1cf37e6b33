using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Seq.Tests.Hygiene;

/// <summary>docker-compose.yml as Debian's docker-compose reads it (.ci/run installs it when missing), and the Dockerfile.</summary>
public sealed partial class DeploymentFileTests
{
    static readonly string Root = RepositoryRoot();

    static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Seq.sln")))
                return directory.FullName;
        throw new InvalidOperationException("The repository root (with Seq.sln) is not above the test assembly.");
    }

    static readonly Lazy<string> Config = new(() =>
    {
        var start = new ProcessStartInfo("docker-compose") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        foreach (var argument in new[] { "-f", Path.Combine(Root, "docker-compose.yml"), "config" })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        process.ExitCode.ShouldBe(0, error);
        return output.Result;
    });

    /// <summary>The text of one service in the normalized output (its lines, indented under "services:").</summary>
    static string Service(string name)
    {
        var services = Config.Value[Config.Value.IndexOf("\nservices:\n", StringComparison.Ordinal)..];
        var match = Regex.Match(services, $@"\n  {Regex.Escape(name)}:\n((?:    .*\n|      .*\n)*)");
        match.Success.ShouldBeTrue($"no service {name} in docker-compose.yml");
        return match.Groups[1].Value;
    }

    [Fact]
    public void Docker_compose_config_accepts_the_file_and_it_has_the_server_its_audit_target_their_databases_and_nginx()
    {
        foreach (var service in new[] { "postgres", "seq", "postgres-audit", "seq-audit", "nginx" })
            Service(service).ShouldNotBeEmpty();
    }

    [Fact]
    public void No_secret_is_written_into_the_file_each_comes_from_a_secret_file()
    {
        var secretLike = SecretVariable().Matches(Config.Value).Select(m => m.Groups[1].Value).ToList();

        secretLike.ShouldNotBeEmpty();
        secretLike.ShouldAllBe(name => name.EndsWith("_FILE", StringComparison.Ordinal));
        File.ReadAllText(Path.Combine(Root, ".gitignore")).ShouldContain("/deploy/secrets/");
    }

    [Fact]
    public void Only_nginx_publishes_ports_and_the_audit_instance_keeps_its_api_on_its_own_loopback()
    {
        foreach (var service in new[] { "postgres", "seq", "postgres-audit", "seq-audit" })
            Service(service).ShouldNotContain("ports:", customMessage: service);
        Service("nginx").ShouldContain("published: 443");

        var audit = Service("seq-audit");
        audit.ShouldContain("SEQ_API_LISTENURIS: http://127.0.0.1:5341");
        audit.ShouldContain("SEQ_API_INGESTIONLISTENURIS: http://0.0.0.0:5342");
        audit.ShouldContain("SEQ_FIRSTRUN_INGESTAPIKEY_FILE: /run/secrets/audit_ingest_api_key");
        audit.ShouldNotContain("front");
        Service("seq").ShouldContain("SEQ_AUDIT_AUDITSERVERURL: http://seq-audit:5342");
        Service("seq").ShouldContain("SEQ_AUDIT_AUDITSERVERAPIKEY_FILE: /run/secrets/audit_ingest_api_key");
    }

    [Fact]
    public void The_image_runs_as_an_unprivileged_user_with_a_healthcheck()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile"));
        var final = dockerfile[dockerfile.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];

        final.ShouldContain("\nUSER app\n");
        final.ShouldContain("\nHEALTHCHECK ");
        final.ShouldContain("SEQ_STORAGE_ROOTPATH=/data");
    }

    [GeneratedRegex(@"^\s+(\w*(?:PASSWORD|SECRETKEY|APIKEY|CONNECTIONSTRING)\w*):", RegexOptions.Multiline)]
    private static partial Regex SecretVariable();
}

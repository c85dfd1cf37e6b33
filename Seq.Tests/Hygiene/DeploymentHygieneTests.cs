using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Seq.Tests.Hygiene;

/// <summary>A TLS key, a password file or a storage root cannot be committed or copied into an image, and compose knows
/// when the server is up (issue 10, item 10).</summary>
public sealed partial class DeploymentHygieneTests
{
    // What docker-compose.yml tells the operator to create next to it, and the server's storage root when run from here.
    static readonly string[] Secrets = [".env", "deploy/tls/server.key", "deploy/tls/server.crt", "storage/Seq.json", "storage/PostgreSQL/password"];

    static string Root => TestRunCleanupTests.RepositoryRoot();

    [Fact]
    public async Task Git_ignores_the_env_file_the_TLS_directory_and_the_storage_root()
    {
        foreach (var path in Secrets)
            (await CheckIgnoreAsync(path)).ShouldBe(0, $"git must ignore {path}");

        (await CheckIgnoreAsync("deploy/nginx.conf")).ShouldBe(1, "the rest of deploy/ is committed");
        (await CheckIgnoreAsync("Seq.Infrastructure/Storage/DurableFile.cs")).ShouldBe(1, "only the top-level storage/ is ignored");
    }

    [Fact]
    public void Docker_leaves_the_env_file_the_TLS_directory_and_the_storage_root_out_of_the_build_context()
    {
        var patterns = File.ReadAllLines(Path.Combine(Root, ".dockerignore"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();

        patterns.ShouldNotContain(p => p.StartsWith('!'), "nothing is put back into the context");
        foreach (var path in Secrets)
            patterns.ShouldContain(p => Excludes(p, path), $".dockerignore must exclude {path}");
        patterns.ShouldNotContain(p => Excludes(p, "deploy/nginx.conf"));
    }

    [Fact]
    public void The_compose_seq_service_checks_health_on_health_with_a_tool_its_image_installs()
    {
        var compose = File.ReadAllText(Path.Combine(Root, "docker-compose.yml"));
        var seq = ServiceBlock().Matches(compose).Single(m => m.Groups["name"].Value == "seq").Value;

        // The service keeps the image's HEALTHCHECK (it declares none of its own that could drift from it).
        seq.ShouldNotContain("    healthcheck:");

        // The runtime stage (after the last FROM) must have curl: the aspnet base image has neither curl nor wget.
        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile"));
        var runtime = dockerfile[dockerfile.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];
        runtime.ShouldMatch(@"apt-get install[^\n]*\bcurl\b");
        runtime.ShouldContain("HEALTHCHECK_URL=http://127.0.0.1:5341/health");
        runtime.ShouldMatch(@"HEALTHCHECK [^\n]*\\\n\s+CMD curl -fsS [^\n]*\$HEALTHCHECK_URL");
    }

    // A .dockerignore line (Go filepath.Match, relative to the context root) that excludes the path or a directory above it.
    static bool Excludes(string pattern, string path)
    {
        var normalized = pattern.Trim('/');
        if (normalized.StartsWith("**/", StringComparison.Ordinal))
        {
            var rest = normalized[3..];
            var segments = path.Split('/');
            return Enumerable.Range(0, segments.Length).Any(i => Excludes(rest, string.Join('/', segments[i..])));
        }
        return path == normalized || path.StartsWith(normalized + "/", StringComparison.Ordinal);
    }

    static async Task<int> CheckIgnoreAsync(string path)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "check-ignore", "--quiet", "--no-index", "--", path })
            start.ArgumentList.Add(argument);
        using var git = Process.Start(start)!;
        var error = await git.StandardError.ReadToEndAsync();
        await git.WaitForExitAsync();
        git.ExitCode.ShouldBeOneOf([0, 1], error);
        return git.ExitCode;
    }

    // A top-level service of docker-compose.yml: its two-space-indented name and everything indented deeper below it.
    [GeneratedRegex(@"^  (?<name>[a-z][a-z0-9-]*):\n(?:(?:    .*)?\n)*", RegexOptions.Multiline)]
    private static partial Regex ServiceBlock();
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Seq.Tests.Support;

/// <summary>
/// Debian's nginx running <c>deploy/nginx.conf</c> (or <c>deploy/nginx-scale.conf</c>) on loopback in front of test servers: the file shipped for
/// deployment, with only its ports, upstream and certificate paths replaced. <c>.ci/run</c> installs nginx when missing.
/// </summary>
public sealed class NginxProxy : IAsyncDisposable
{
    readonly Process _process;
    readonly string _directory;

    NginxProxy(Process process, string directory, int httpPort, int httpsPort)
    {
        _process = process;
        _directory = directory;
        HttpAddress = new Uri($"http://127.0.0.1:{httpPort}");
        HttpsAddress = new Uri($"https://127.0.0.1:{httpsPort}");
    }

    public Uri HttpAddress { get; }
    public Uri HttpsAddress { get; }

    public static Task<NginxProxy> StartAsync(Uri upstream, X509Certificate2 certificate, string directory) =>
        StartSiteAsync("nginx.conf", [("http://seq:5341", $"http://{upstream.Authority}")], certificate, directory);

    /// <summary>
    /// <c>deploy/nginx-scale.conf</c> (the compose scale profile's proxy) with its upstream block holding
    /// <paramref name="nodes"/> instead of the two compose services: requests go to them in turn.
    /// </summary>
    public static Task<NginxProxy> StartRoundRobinAsync(IReadOnlyList<Uri> nodes, X509Certificate2 certificate, string directory) =>
        StartSiteAsync("nginx-scale.conf",
            [
                ("    server seq:5341 max_fails=1 fail_timeout=5s;\n    server seq-2:5341 max_fails=1 fail_timeout=5s;\n",
                    string.Concat(nodes.Select(node => $"    server {node.Authority} max_fails=1 fail_timeout=5s;\n"))),
            ],
            certificate, directory);

    static async Task<NginxProxy> StartSiteAsync(string siteFile, IReadOnlyList<(string Shipped, string Local)> upstreams, X509Certificate2 certificate, string directory)
    {
        var nginx = new[] { "/usr/sbin/nginx" }.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(p => Path.Combine(p, "nginx")))
            .FirstOrDefault(File.Exists) ?? throw new InvalidOperationException("nginx is not installed: apt-get install nginx (.ci/run does it when missing).");

        Directory.CreateDirectory(directory);
        var (certificatePath, keyPath) = TestCertificates.WritePem(certificate, directory);
        var (httpPort, httpsPort) = (FreePort(), FreePort());

        var site = File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", siteFile)).ReplaceLineEndings("\n");
        foreach (var (shipped, local) in new[]
                 {
                     ("listen 80;", $"listen 127.0.0.1:{httpPort};"),
                     ("listen 443 ssl http2;", $"listen 127.0.0.1:{httpsPort} ssl http2;"),
                     ("/etc/nginx/tls/server.crt", certificatePath),
                     ("/etc/nginx/tls/server.key", keyPath),
                 }.Concat(upstreams))
        {
            site.ShouldContain(shipped, customMessage: $"deploy/{siteFile} changed shape; update the test's substitutions");
            site = site.Replace(shipped, local, StringComparison.Ordinal);
        }
        File.WriteAllText(Path.Combine(directory, "site.conf"), site);

        var configuration = Path.Combine(directory, "nginx.conf");
        File.WriteAllText(configuration, $$"""
            {{(Environment.UserName == "root" ? "user root root;" : "")}}
            daemon off;
            worker_processes 1;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path {{directory}}/client_body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
                include {{directory}}/site.conf;
            }
            """);

        var start = new ProcessStartInfo(nginx) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-c", configuration, "-p", directory, "-e", Path.Combine(directory, "error.log") })
            start.ArgumentList.Add(argument);
        var process = Process.Start(start)!;
        var proxy = new NginxProxy(process, directory, httpPort, httpsPort);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"nginx exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()} {proxy.ErrorLog}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, httpsPort);
                return proxy;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    public string ErrorLog => File.Exists(Path.Combine(_directory, "error.log")) ? File.ReadAllText(Path.Combine(_directory, "error.log")) : "";

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Seq.sln")))
                return directory.FullName;
        throw new InvalidOperationException("The repository root (with Seq.sln) is not above the test assembly.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGQUIT: nginx's graceful stop; its workers follow the master out.
            Process.Start("kill", ["-QUIT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }
}

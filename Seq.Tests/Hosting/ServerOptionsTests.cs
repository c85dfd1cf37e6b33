using Seq.Api.Hosting;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class ServerOptionsTests
{
    static ServerOptions With(params string[] listenUris) => new("Host=unused", listenUris, SecretKey.Generate());

    [Fact]
    public void Listen_addresses_are_separated_by_commas_or_semicolons_trimmed_and_default_to_localhost_5341()
    {
        ServerOptions.ListenUrisFrom(null).ShouldBe(["http://localhost:5341"]);
        ServerOptions.ListenUrisFrom("").ShouldBe(["http://localhost:5341"]);
        ServerOptions.ListenUrisFrom(" ; , ").ShouldBe(["http://localhost:5341"]);
        ServerOptions.ListenUrisFrom(" http://a:1 ,http://b:2;https://c:3 ").ShouldBe(["http://a:1", "http://b:2", "https://c:3"]);
    }

    [Fact]
    public void A_nodes_name_is_the_configured_one_or_the_machine_and_its_first_listen_port_or_else_its_process_id()
    {
        var machine = Environment.MachineName;
        var process = Environment.ProcessId;

        (With("http://localhost:5341") with { NodeName = "node-a" }).ResolvedNodeName.ShouldBe("node-a");
        With("http://localhost:5341", "http://localhost:6000").ResolvedNodeName.ShouldBe($"{machine}:5341");
        With("http://*:8080").ResolvedNodeName.ShouldBe($"{machine}:8080");
        With("https://+:8443").ResolvedNodeName.ShouldBe($"{machine}:8443");
        With("http://127.0.0.1:0").ResolvedNodeName.ShouldBe($"{machine}:{process}");
        With().ResolvedNodeName.ShouldBe($"{machine}:{process}");
        With("not an address").ResolvedNodeName.ShouldBe($"{machine}:{process}");
    }

    [Fact]
    public void Printed_options_name_their_addresses_and_certificate_but_never_an_audit_servers_api_key()
    {
        var options = With("http://localhost:5341") with
        {
            NodeName = "node-b",
            IngestionListenUris = ["http://localhost:5342"],
            Audit = new AuditOptions(null, new Uri("https://audit.example:5341"), "audit-key-hunter2"),
        };

        var printed = options.ToString();
        printed.ShouldContain("Node = node-b");
        printed.ShouldContain("IngestionListenUris = http://localhost:5342");
        printed.ShouldContain("Certificate = none");
        printed.ShouldNotContain("audit-key-hunter2");
        printed.ShouldContain("ServerApiKey = (secret)");
        AuditOptions.Disabled.ToString().ShouldContain("ServerApiKey = none");
    }

    [Fact]
    public void Auditing_to_a_directory_and_a_server_at_once_or_to_a_server_without_its_api_key_stops_the_build()
    {
        var both = With("http://127.0.0.1:0") with { Audit = new AuditOptions("/var/lib/seq/audit", new Uri("https://audit.example:5341"), "audit-key-1") };
        Should.Throw<HostConfigurationException>(() => SeqServer.Build(both, Serilog.Core.Logger.None)).Message.ShouldContain("auditing goes to one target");

        var keyless = With("http://127.0.0.1:0") with { Audit = new AuditOptions(null, new Uri("https://audit.example:5341"), "") };
        Should.Throw<HostConfigurationException>(() => SeqServer.Build(keyless, Serilog.Core.Logger.None)).Message.ShouldContain("without audit.auditServerApiKey");
    }

    [Fact]
    public void The_default_limits_are_a_1_MiB_body_and_100_writes_a_second_in_bursts_of_400()
    {
        RequestLimits.Default.ShouldBe(new RequestLimits(1_048_576, 100, 400));
        RefusalAuditOptions.Default.ShouldBe(new RefusalAuditOptions(TimeSpan.FromMinutes(1), 10_000));
    }

    [Fact]
    public void Printed_options_list_every_address_with_commas_and_name_the_certificate_by_its_subject()
    {
        using var certificate = TestCertificates.CreateForLoopback();
        var options = With("http://localhost:5341", "http://localhost:5343") with
        {
            IngestionListenUris = ["http://localhost:5342", "http://localhost:5344"],
            Certificate = certificate,
        };

        var printed = options.ToString();

        printed.ShouldStartWith("ServerOptions { Node = ");
        printed.ShouldContain("ListenUris = http://localhost:5341, http://localhost:5343, IngestionListenUris = http://localhost:5342, http://localhost:5344, Certificate = CN=seq-test, ");
    }
}

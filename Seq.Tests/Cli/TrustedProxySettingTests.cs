namespace Seq.Tests.Cli;

public sealed class TrustedProxySettingTests : IDisposable
{
    readonly Seqsvr _seqsvr = new();

    [Fact]
    public async Task Trusted_proxies_take_addresses_and_networks_and_refuse_anything_else()
    {
        (await _seqsvr.RunAsync("config", "set", "-k", "api.trustedProxies", "-v", "10.0.0.0/8, 192.168.1.5,::1")).ExitCode.ShouldBe(0);
        (await _seqsvr.RunAsync("config", "get", "-k", "api.trustedProxies")).Output.Trim().ShouldBe("10.0.0.0/8,192.168.1.5,::1");

        var refused = await _seqsvr.RunAsync("config", "set", "-k", "api.trustedProxies", "-v", "nginx");
        refused.ExitCode.ShouldBe(1);
        refused.Error.ShouldContain("CIDR");
    }

    public void Dispose() => _seqsvr.Dispose();
}

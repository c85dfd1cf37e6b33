using Microsoft.Extensions.DependencyInjection;
using Seq.Application.Security;
using Seq.Infrastructure;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Credentials;

public sealed class CredentialRegistrationTests
{
    [Fact]
    public async Task The_infrastructure_provides_the_credential_services_and_the_host_may_choose_their_options()
    {
        var throttleOptions = new LoginThrottleOptions(AccountFreeFailures: 3);
        var services = new ServiceCollection()
            .AddSingleton(throttleOptions)
            .AddSingleton(SecretKey.Generate())
            .AddSingleton(TimeProvider.System)
            .AddInfrastructure("Host=localhost;Database=unused");

        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IPasswordHashing>().ShouldBeOfType<PasswordHashingPool>();
        provider.GetRequiredService<IPasswordHashing>().ShouldBeSameAs(provider.GetRequiredService<IPasswordHashing>());
        provider.GetRequiredService<ILoginThrottle>().ShouldBeOfType<LoginThrottle>();
        provider.GetRequiredService<LoginThrottleOptions>().ShouldBeSameAs(throttleOptions);
        provider.GetRequiredService<ISessions>().ShouldBeOfType<PostgresSessions>();
        provider.GetRequiredService<SessionOptions>().ShouldBe(SessionOptions.Default);
    }
}

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Seq.Api.Hosting;
using Seq.Domain.Security;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;
using Serilog;

namespace Seq.Tests.Roles;

public sealed class RoleTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task The_built_in_roles_are_listed_with_their_permissions()
    {
        var roles = (await _server.GetJsonAsync("/api/roles")).EnumerateArray()
            .ToDictionary(r => r.GetProperty("Id").GetString()!, r => r.GetProperty("Permissions").EnumerateArray().Select(p => p.GetString()!).ToArray());

        roles.Keys.ShouldBe(["role-user-readonly", "role-user-readwrite", "role-user-readwriteingest", "role-project-owner", "role-organization-administrator", "role-administrator"]);
        roles["role-user-readonly"].ShouldBe(["Public", "Read"]);
        roles["role-administrator"].ShouldBe(Enum.GetNames<Permission>(), ignoreOrder: true);
        roles["role-organization-administrator"].ShouldNotContain("System");
    }

    [Fact]
    public async Task A_role_is_read_by_id_and_an_unknown_one_is_404()
    {
        (await _server.GetJsonAsync("/api/roles/role-project-owner")).GetProperty("Title").GetString().ShouldBe("Project Owner");
        (await _server.GetJsonAsync("/api/roles/role-nobody", HttpStatusCode.NotFound)).GetProperty("Error").GetString()!.ShouldContain("role-nobody");
    }

    [Fact]
    public void Each_built_in_role_holds_every_permission_of_the_roles_before_it()
    {
        for (var i = 1; i < BuiltInRoles.All.Count; i++)
            BuiltInRoles.All[i].Permissions.IsSupersetOf(BuiltInRoles.All[i - 1].Permissions).ShouldBeTrue(BuiltInRoles.All[i].Title);
    }

    [Fact]
    public void Every_endpoint_of_the_running_server_declares_the_permission_it_demands()
    {
        var endpoints = _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

        endpoints.Count.ShouldBeGreaterThan(10);
        endpoints.ShouldAllBe(e => e.Metadata.GetMetadata<Seq.Api.Endpoints.DemandsPermission>() != null);
    }

    [Fact]
    public async Task A_server_with_an_endpoint_that_declares_no_permission_refuses_to_start()
    {
        var logger = new LoggerConfiguration().CreateLogger();
        await using var app = SeqServer.Build(new ServerOptions(await TestPostgres.CreateDatabaseAsync("deny"), ["http://127.0.0.1:0"], SecretKey.Generate()), logger);
        app.MapGet("/api/forgotten", () => "open to anyone");

        var refusal = await Should.ThrowAsync<InvalidOperationException>(() => SeqServer.StartAsync(app, CancellationToken.None));

        refusal.Message.ShouldContain("/api/forgotten");
    }
}

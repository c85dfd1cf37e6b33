using System.Net;
using Npgsql;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class HostTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task The_root_document_names_the_product_and_links_to_resource_groups()
    {
        var root = await _server.GetJsonAsync("/api");

        root.GetProperty("Product").GetString().ShouldBe("Seq");
        root.GetProperty("Version").GetString().ShouldNotBeNullOrEmpty();
        root.GetProperty("Links").GetProperty("SettingsResources").GetString().ShouldBe("api/settings/resources");
    }

    [Fact]
    public async Task An_unknown_address_is_404_with_an_error_body()
    {
        (await _server.GetJsonAsync("/api/nothing-here", HttpStatusCode.NotFound)).GetProperty("Error").GetString().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task An_unsupported_method_is_405_with_an_error_body()
    {
        using var response = await _server.Client.DeleteAsync("/api/settings/setting-InstanceTitle");

        (await TestServer.ReadAsync(response, HttpStatusCode.MethodNotAllowed)).GetProperty("Error").GetString().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Health_is_200_while_the_database_answers_and_503_when_it_does_not()
    {
        (await _server.GetJsonAsync("/health")).GetProperty("Database").GetString().ShouldBe("Available");

        var database = new NpgsqlConnectionStringBuilder(_server.ConnectionString).Database!;
        NpgsqlConnection.ClearAllPools();
        await using (var admin = new NpgsqlConnection(await TestPostgres.ServerConnectionStringAsync()))
        {
            await admin.OpenAsync();
            // DROP DATABASE waits for a checkpoint, which on a loaded machine can outlast Npgsql's default 30 s.
            await using var drop = new NpgsqlCommand($"DROP DATABASE \"{database}\" WITH (FORCE)", admin) { CommandTimeout = 300 };
            await drop.ExecuteNonQueryAsync();
        }

        var unhealthy = await _server.GetJsonAsync("/health", HttpStatusCode.ServiceUnavailable);
        unhealthy.GetProperty("Error").GetString()!.ShouldContain("database");
    }
}

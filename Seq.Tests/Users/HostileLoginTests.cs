using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Seq.Domain.Security;
using Seq.Infrastructure;
using Seq.Tests.Support;

namespace Seq.Tests.Users;

public sealed class HostileLoginTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Logins_with_control_characters_in_the_username_are_refused_and_later_logins_of_other_users_all_succeed()
    {
        var username = $"frank-{Guid.NewGuid():N}"[..20];
        await _server.CreateUserAsync(username, "frank-password-1", BuiltInRoles.UserReadOnly.Id);
        var anonymous = _server.CreateClient();

        foreach (var hostile in new[] { "\0", "admin\0", "\0admin", "a\u0001b", "a\u001Fb", "a\u007Fb", "a\u0085b", "a\nb", "x\0y\0z" })
        {
            using var response = await anonymous.PostAsJsonAsync("/api/users/login", new { Username = hostile, Password = "whatever-1" });
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body);
            JsonDocument.Parse(body).RootElement.GetProperty("Error").GetString().ShouldNotBeNullOrEmpty();
        }

        for (var i = 0; i < 50; i++)
        {
            using var response = await _server.CreateClient().PostAsJsonAsync("/api/users/login", new { Username = username, Password = "frank-password-1" });
            response.StatusCode.ShouldBe(HttpStatusCode.OK, $"login {i}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task A_value_PostgreSQL_refuses_leaves_the_pooled_connection_usable_whichever_use_of_the_statement_it_came_with()
    {
        // One connection, so every statement runs where the refused one did; the refusal is tried at each of the first
        // uses, since a driver that prepares statements automatically does so on one particular use.
        var connectionString = new NpgsqlConnectionStringBuilder(await TestPostgres.CreateDatabaseAsync("pool")) { MaxPoolSize = 1 }.ConnectionString;
        for (var refusedAt = 1; refusedAt <= 8; refusedAt++)
        {
            await using var dataSource = DependencyInjection.CreateDataSource(connectionString);
            for (var use = 1; use <= refusedAt + 20; use++)
            {
                await using var command = dataSource.CreateCommand("SELECT length($1)");
                command.Parameters.Add(new NpgsqlParameter { Value = use == refusedAt ? "a\0b" : "frank" });
                if (use == refusedAt)
                {
                    var refused = await Should.ThrowAsync<PostgresException>(() => command.ExecuteScalarAsync());
                    refused.SqlState.ShouldBe(PostgresErrorCodes.CharacterNotInRepertoire);
                }
                else
                {
                    (await command.ExecuteScalarAsync()).ShouldBe(5, $"use {use} after a refusal at use {refusedAt}");
                }
            }
        }
    }
}

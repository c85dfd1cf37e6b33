using System.Net;
using System.Text.Json;
using Seq.Tests.Support;

namespace Seq.Tests.Settings;

public sealed class SettingsApiTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Every_setting_is_listed_with_its_default_before_anything_changes()
    {
        var settings = await _server.GetJsonAsync("/api/settings");

        var byName = settings.EnumerateArray().ToDictionary(s => s.GetProperty("Name").GetString()!);
        byName["InstanceTitle"].GetProperty("Value").GetString().ShouldBe("");
        byName["BackupsToKeep"].GetProperty("Value").GetInt64().ShouldBe(7);
        byName["RequireApiKeyForWritingEvents"].GetProperty("Value").GetBoolean().ShouldBeTrue();
        byName["InstanceTitle"].GetProperty("Id").GetString().ShouldBe("setting-InstanceTitle");
        byName["InstanceTitle"].GetProperty("Links").GetProperty("Self").GetString().ShouldBe("api/settings/setting-InstanceTitle");
    }

    [Fact]
    public async Task Changing_the_instance_title_is_seen_by_the_next_query_and_by_the_root_document()
    {
        var changed = await _server.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Value": "  Production audit  "}""", HttpStatusCode.OK);
        changed.GetProperty("Value").GetString().ShouldBe("Production audit");

        (await _server.GetJsonAsync("/api/settings/InstanceTitle")).GetProperty("Value").GetString().ShouldBe("Production audit");
        (await _server.GetJsonAsync("/api")).GetProperty("InstanceName").GetString().ShouldBe("Production audit");
        var listed = await _server.GetJsonAsync("/api/settings");
        listed.EnumerateArray().Single(s => s.GetProperty("Name").GetString() == "InstanceTitle")
            .GetProperty("Value").GetString().ShouldBe("Production audit");
    }

    [Fact]
    public async Task A_change_goes_through_an_event_in_the_settings_stream()
    {
        await _server.PutJsonAsync("/api/settings/setting-BackupsToKeep", """{"Name": "BackupsToKeep", "Value": 14}""", HttpStatusCode.OK);
        await _server.PutJsonAsync("/api/settings/setting-BackupsToKeep", """{"Value": "14"}""", HttpStatusCode.OK);

        await using var connection = new Npgsql.NpgsqlConnection(_server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT type, data->>'Name', data->>'Value', data->>'PreviousValue' FROM events WHERE stream_id = 'settings/instance' ORDER BY version", connection);
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).ShouldBeTrue();
        reader.GetString(0).ShouldBe("SettingChanged");
        reader.GetString(1).ShouldBe("BackupsToKeep");
        reader.GetString(2).ShouldBe("14");
        reader.GetString(3).ShouldBe("7");
        (await reader.ReadAsync()).ShouldBeFalse("setting the same value again records nothing");
    }

    [Theory]
    [InlineData("setting-BackupsToKeep", """{"Value": 0}""", "between 1 and 365")]
    [InlineData("setting-BackupsToKeep", """{"Value": "many"}""", "whole number")]
    [InlineData("setting-BackupUtcTimeOfDay", """{"Value": "25:00"}""", "HH:mm")]
    [InlineData("setting-RequireApiKeyForWritingEvents", """{"Value": "perhaps"}""", "true or false")]
    [InlineData("setting-InstanceTitle", """{}""", "required")]
    public async Task An_invalid_value_is_refused_with_400_and_changes_nothing(string id, string body, string explanation)
    {
        var before = await _server.GetJsonAsync("/api/settings");

        var error = await _server.PutJsonAsync($"/api/settings/{id}", body, HttpStatusCode.BadRequest);

        error.GetProperty("Error").GetString()!.ShouldContain(explanation);
        (await _server.GetJsonAsync("/api/settings")).GetRawText().ShouldBe(before.GetRawText());
    }

    [Fact]
    public async Task A_title_longer_than_allowed_is_refused()
    {
        var error = await _server.PutJsonAsync("/api/settings/setting-InstanceTitle", JsonSerializer.Serialize(new { Value = new string('x', 101) }), HttpStatusCode.BadRequest);

        error.GetProperty("Error").GetString()!.ShouldContain("at most 100 characters");
    }

    [Theory]
    [InlineData("{\"Value\": ")]
    [InlineData("[1, 2, 3]")]
    [InlineData("not json at all")]
    [InlineData("{\"Value\": \"x\", \"Name\": 42}")]
    public async Task A_malformed_body_is_a_400_with_an_error_message_never_a_500(string body)
    {
        var error = await _server.PutJsonAsync("/api/settings/setting-InstanceTitle", body, HttpStatusCode.BadRequest);

        error.GetProperty("Error").GetString().ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public async Task A_body_that_names_another_setting_than_the_address_is_refused()
    {
        var error = await _server.PutJsonAsync("/api/settings/setting-InstanceTitle", """{"Name": "BackupsToKeep", "Value": "x"}""", HttpStatusCode.BadRequest);

        error.GetProperty("Error").GetString()!.ShouldContain("BackupsToKeep");
    }

    [Fact]
    public async Task An_unknown_setting_is_404_for_reads_and_writes()
    {
        (await _server.GetJsonAsync("/api/settings/setting-NoSuchThing", HttpStatusCode.NotFound))
            .GetProperty("Error").GetString()!.ShouldContain("NoSuchThing");
        await _server.PutJsonAsync("/api/settings/setting-NoSuchThing", """{"Value": 1}""", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_settings_resource_group_links_to_its_items()
    {
        var resources = await _server.GetJsonAsync("/api/settings/resources");

        resources.GetProperty("Links").GetProperty("Items").GetString().ShouldBe("api/settings");
        resources.GetProperty("Links").GetProperty("InstanceTitle").GetString().ShouldBe("api/settings/setting-InstanceTitle");
    }

    [Fact]
    public async Task Concurrent_changes_to_different_settings_all_take_effect()
    {
        var titles = Enumerable.Range(0, 6).Select(i => _server.PutJsonAsync("/api/settings/setting-InstanceTitle", $$"""{"Value": "title {{i}}"}""", HttpStatusCode.OK));
        var backups = Enumerable.Range(0, 6).Select(i => _server.PutJsonAsync("/api/settings/setting-BackupsToKeep", $$"""{"Value": {{20 + i}}}""", HttpStatusCode.OK));
        await Task.WhenAll(titles.Concat(backups));

        var listed = (await _server.GetJsonAsync("/api/settings")).EnumerateArray().ToDictionary(s => s.GetProperty("Name").GetString()!);
        listed["InstanceTitle"].GetProperty("Value").GetString()!.ShouldStartWith("title ");
        listed["BackupsToKeep"].GetProperty("Value").GetInt64().ShouldBeInRange(20, 25);
    }
}

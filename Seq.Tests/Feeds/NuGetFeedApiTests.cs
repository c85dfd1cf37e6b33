using System.Net;
using Npgsql;
using Seq.Application.Security;
using Seq.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Seq.Tests.Feeds;

public sealed class NuGetFeedApiTests : IAsyncLifetime
{
    const string FeedPassword = "p4ss-Feed-Secret-7Q2";
    TestServer _server = null!;
    readonly List<string> _responses = [];

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    async Task<System.Text.Json.JsonElement> SendAsync(HttpMethod method, string path, string? json, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await _server.Client.SendAsync(request);
        _responses.Add(await response.Content.ReadAsStringAsync());
        return await TestServer.ReadAsync(response, expected);
    }

    async Task<string> CreateAsync(string name, string? password = FeedPassword)
    {
        var body = password is null
            ? $$"""{"Name": "{{name}}", "Location": "https://nuget.example.com/v3/index.json", "Username": "builder"}"""
            : $$"""{"Name": "{{name}}", "Location": "https://nuget.example.com/v3/index.json", "Username": "builder", "NewPassword": "{{password}}"}""";
        var created = await SendAsync(HttpMethod.Post, "/api/feeds", body, HttpStatusCode.Created);
        return created.GetProperty("Id").GetString()!;
    }

    async Task<string?> StoredProtectedPasswordAsync(string id)
    {
        await using var connection = new NpgsqlConnection(_server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT protected_password FROM nuget_feeds WHERE id = $1", connection) { Parameters = { new() { Value = id } } };
        return await command.ExecuteScalarAsync() as string;
    }

    [Fact]
    public async Task A_feed_is_created_listed_and_read_back_saying_only_that_a_password_is_set()
    {
        var id = await CreateAsync("Company feed");

        var feed = await SendAsync(HttpMethod.Get, $"/api/feeds/{id}", null, HttpStatusCode.OK);
        feed.GetProperty("Name").GetString().ShouldBe("Company feed");
        feed.GetProperty("Location").GetString().ShouldBe("https://nuget.example.com/v3/index.json");
        feed.GetProperty("Username").GetString().ShouldBe("builder");
        feed.GetProperty("IsPasswordSet").GetBoolean().ShouldBeTrue();
        feed.TryGetProperty("Password", out _).ShouldBeFalse();
        feed.TryGetProperty("NewPassword", out _).ShouldBeFalse();

        var listed = await SendAsync(HttpMethod.Get, "/api/feeds", null, HttpStatusCode.OK);
        listed.EnumerateArray().Single(f => f.GetProperty("Id").GetString() == id).GetProperty("IsPasswordSet").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task The_password_is_stored_encrypted_under_the_secret_key_and_nowhere_in_clear()
    {
        var id = await CreateAsync("Scanned feed");
        await SendAsync(HttpMethod.Put, $"/api/feeds/{id}", """{"Name": "Scanned feed", "Location": "/srv/nuget", "Username": "builder"}""", HttpStatusCode.OK);

        var protectedPassword = await StoredProtectedPasswordAsync(id);
        protectedPassword.ShouldNotBeNull();
        _server.Services.GetRequiredService<ISecretProtector>().Unprotect(protectedPassword, SecretPurposes.StoredSecrets).ShouldBe(FeedPassword);

        await using var connection = new NpgsqlConnection(_server.ConnectionString);
        await connection.OpenAsync();
        foreach (var sql in new[] { "SELECT string_agg(data::text || metadata::text, ' ') FROM events", "SELECT string_agg(t::text, ' ') FROM nuget_feeds t", "SELECT string_agg(t::text, ' ') FROM streams t" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            ((string)(await command.ExecuteScalarAsync())!).ShouldNotContain(FeedPassword);
        }
        string.Join('\n', _responses).ShouldNotContain(FeedPassword);
        _server.Log.Text.ShouldNotContain(FeedPassword);
    }

    [Fact]
    public async Task An_update_without_a_password_keeps_it_a_new_one_replaces_it_and_an_empty_one_clears_it()
    {
        var id = await CreateAsync("Rotating feed");
        var original = await StoredProtectedPasswordAsync(id);

        (await SendAsync(HttpMethod.Put, $"/api/feeds/{id}", """{"Name": "Rotating feed", "Location": "https://nuget.example.com/v3/index.json", "Username": "ci"}""", HttpStatusCode.OK))
            .GetProperty("IsPasswordSet").GetBoolean().ShouldBeTrue();
        (await StoredProtectedPasswordAsync(id)).ShouldBe(original);

        await SendAsync(HttpMethod.Put, $"/api/feeds/{id}", """{"Name": "Rotating feed", "Location": "https://nuget.example.com/v3/index.json", "NewPassword": "another-one"}""", HttpStatusCode.OK);
        var replaced = await StoredProtectedPasswordAsync(id);
        replaced.ShouldNotBe(original);
        _server.Services.GetRequiredService<ISecretProtector>().Unprotect(replaced!, SecretPurposes.StoredSecrets).ShouldBe("another-one");

        (await SendAsync(HttpMethod.Put, $"/api/feeds/{id}", """{"Name": "Rotating feed", "Location": "https://nuget.example.com/v3/index.json", "NewPassword": ""}""", HttpStatusCode.OK))
            .GetProperty("IsPasswordSet").GetBoolean().ShouldBeFalse();
        (await StoredProtectedPasswordAsync(id)).ShouldBeNull();
    }

    [Theory]
    [InlineData("""{"Location": "https://nuget.example.com/v3/index.json"}""", "name")]
    [InlineData("""{"Name": "x", "Location": "nuget.example.com"}""", "location")]
    [InlineData("""{"Name": "x", "Location": "relative/folder"}""", "location")]
    [InlineData("""{"Name": "x", "Location": "ftp://nuget.example.com/"}""", "location")]
    [InlineData("""{"Name": "x", "Location": 42}""", "request")]
    [InlineData("""not json""", "request")]
    public async Task Invalid_feeds_are_refused_with_400_and_nothing_is_created(string body, string explanation)
    {
        var before = (await SendAsync(HttpMethod.Get, "/api/feeds", null, HttpStatusCode.OK)).GetArrayLength();

        var error = await SendAsync(HttpMethod.Post, "/api/feeds", body, HttpStatusCode.BadRequest);

        error.GetProperty("Error").GetString()!.ShouldContain(explanation, Case.Insensitive);
        (await SendAsync(HttpMethod.Get, "/api/feeds", null, HttpStatusCode.OK)).GetArrayLength().ShouldBe(before);
    }

    // The limits are written out, not read from the code's constants, so that raising one is noticed.
    [Theory]
    [InlineData("Name", 100, true)]
    [InlineData("Name", 101, false)]
    [InlineData("Username", 256, true)]
    [InlineData("Username", 257, false)]
    [InlineData("NewPassword", 1024, true)]
    [InlineData("NewPassword", 1025, false)]
    [InlineData("Location", 2048, true)]
    [InlineData("Location", 2049, false)]
    public async Task A_feed_field_at_its_length_limit_is_kept_and_one_character_more_is_refused_on_create_and_on_update(string field, int length, bool accepted)
    {
        var id = await CreateAsync($"bounds-{field}-{length}");
        string Body(string name)
        {
            var fields = new Dictionary<string, string> { ["Name"] = name, ["Location"] = "https://nuget.example.com/v3/index.json" };
            fields[field] = field switch
            {
                "Name" => name[..Math.Min(name.Length, 8)] + new string('n', length - Math.Min(name.Length, 8)),
                "Location" => "https://nuget.example.com/" + new string('l', length - "https://nuget.example.com/".Length),
                _ => new string('u', length),
            };
            return System.Text.Json.JsonSerializer.Serialize(fields);
        }

        var expected = accepted ? HttpStatusCode.OK : HttpStatusCode.BadRequest;
        var updated = await SendAsync(HttpMethod.Put, $"/api/feeds/{id}", Body($"upd{length}{field}"), expected);
        var created = await SendAsync(HttpMethod.Post, "/api/feeds", Body($"new{length}{field}"), accepted ? HttpStatusCode.Created : HttpStatusCode.BadRequest);
        if (accepted)
        {
            if (field != "NewPassword")
                (await SendAsync(HttpMethod.Get, $"/api/feeds/{created.GetProperty("Id").GetString()}", null, HttpStatusCode.OK)).GetProperty(field).GetString()!.Length.ShouldBe(length);
        }
        else
        {
            // A location too long is not a valid location; the other fields say their limit.
            var explanation = field == "Location" ? "location" : "at most";
            updated.GetProperty("Error").GetString()!.ShouldContain(explanation, Case.Insensitive);
            created.GetProperty("Error").GetString()!.ShouldContain(explanation, Case.Insensitive);
        }
    }

    [Fact]
    public async Task Two_feeds_cannot_share_a_name()
    {
        await CreateAsync("Twin");

        var error = await SendAsync(HttpMethod.Post, "/api/feeds", """{"Name": "twin", "Location": "/srv/other"}""", HttpStatusCode.BadRequest);

        error.GetProperty("Error").GetString()!.ShouldContain("already exists");
    }

    [Fact]
    public async Task Of_eight_feeds_created_at_once_with_one_name_exactly_one_is_kept_and_the_others_are_refused()
    {
        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            using var content = new StringContent($$"""{"Name": "Raced", "Location": "/srv/nuget/{{i}}"}""", System.Text.Encoding.UTF8, "application/json");
            using var response = await _server.Client.PostAsync("/api/feeds", content);
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        attempts.Count(a => a.StatusCode == HttpStatusCode.Created).ShouldBe(1);
        attempts.Where(a => a.StatusCode != HttpStatusCode.Created)
            .ShouldAllBe(a => (a.StatusCode == HttpStatusCode.BadRequest || a.StatusCode == HttpStatusCode.Conflict) && a.Body.Contains("\"Error\""));
        (await SendAsync(HttpMethod.Get, "/api/feeds", null, HttpStatusCode.OK)).EnumerateArray()
            .Count(f => f.GetProperty("Name").GetString() == "Raced").ShouldBe(1);
    }

    [Fact]
    public async Task A_deleted_feed_is_gone_and_unknown_feeds_are_404()
    {
        var id = await CreateAsync("Short-lived", password: null);

        await SendAsync(HttpMethod.Delete, $"/api/feeds/{id}", null, HttpStatusCode.NoContent);

        await SendAsync(HttpMethod.Get, $"/api/feeds/{id}", null, HttpStatusCode.NotFound);
        await SendAsync(HttpMethod.Delete, $"/api/feeds/{id}", null, HttpStatusCode.NotFound);
        await SendAsync(HttpMethod.Put, $"/api/feeds/{id}", """{"Name": "Back", "Location": "/srv/nuget"}""", HttpStatusCode.NotFound);
        await SendAsync(HttpMethod.Get, "/api/feeds/nugetfeed-missing", null, HttpStatusCode.NotFound);
    }
}

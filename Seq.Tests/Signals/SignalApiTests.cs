using System.Net;
using System.Text;
using System.Text.Json;
using Seq.Api.Hosting;
using Seq.Tests.Support;

namespace Seq.Tests.Signals;

public sealed class SignalApiTests : IAsyncLifetime
{
    readonly TestPaths _paths = new();
    TestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(_paths.New("signal-audit"), null, null) });

    public async Task DisposeAsync()
    {
        try
        {
            await _server.DisposeAsync();
        }
        finally
        {
            _paths.Dispose();
        }
    }

    static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpClient client, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    static object Signal(string title, string filter = "@Level = 'Error'", bool isProtected = false, string? ownerId = null) => new
    {
        Title = title,
        Description = "for tests",
        Filters = new[] { new { Description = "errors", DescriptionIsExcluded = false, Filter = filter, FilterNonStrict = filter } },
        Columns = new[] { new { Expression = "RequestPath" } },
        Grouping = "Explicit",
        ExplicitGroupName = "Team",
        IsProtected = isProtected,
        IsIndexSuppressed = false,
        OwnerId = ownerId,
    };

    async Task<string> CreateAsync(HttpClient client, object signal)
    {
        var (status, body) = await SendAsync(client, HttpMethod.Post, "/api/signals", signal);
        status.ShouldBe(HttpStatusCode.Created, body.ToString());
        return body.GetProperty("Id").GetString()!;
    }

    [Fact]
    public async Task The_shared_Warnings_signal_exists_from_the_first_start_and_the_root_links_to_signals()
    {
        var root = await _server.GetJsonAsync("/api");
        root.GetProperty("Links").GetProperty("SignalsResources").GetString().ShouldBe("api/signals/resources");
        var links = (await _server.GetJsonAsync("/api/signals/resources")).GetProperty("Links");
        links.GetProperty("Items").GetString().ShouldBe("api/signals{?ownerId,shared,partial}");
        links.GetProperty("Item").GetString().ShouldBe("api/signals/{id}{?partial}");
        links.GetProperty("Template").GetString().ShouldBe("api/signals/template");

        var warnings = await _server.GetJsonAsync("/api/signals/signal-m33302");
        warnings.GetProperty("Title").GetString().ShouldBe("Warnings");
        warnings.GetProperty("OwnerId").ValueKind.ShouldBe(JsonValueKind.Null);
        warnings.GetProperty("Filters")[0].GetProperty("Filter").GetString()!.ShouldContain("@Level");
        warnings.GetProperty("Links").GetProperty("Self").GetString().ShouldBe("api/signals/signal-m33302");

        (await _server.GetJsonAsync("/api/signals?shared=true")).EnumerateArray().Select(s => s.GetProperty("Id").GetString()).ShouldContain("signal-m33302");
        (await _server.GetJsonAsync("/api/signals")).EnumerateArray().ShouldBeEmpty();
        (await _server.GetJsonAsync("/api/signals/template")).GetProperty("Title").GetString().ShouldBe("New Signal");
    }

    [Fact]
    public async Task A_shared_signal_is_created_read_updated_and_removed_in_Seq_s_shape_and_each_change_is_audited()
    {
        var id = await CreateAsync(_server.Client, Signal("Checkout errors", "@Level = 'Error' and Area = 'checkout'"));

        var read = await _server.GetJsonAsync($"/api/signals/{id}");
        read.GetProperty("Title").GetString().ShouldBe("Checkout errors");
        read.GetProperty("Description").GetString().ShouldBe("for tests");
        read.GetProperty("Grouping").GetString().ShouldBe("Explicit");
        read.GetProperty("ExplicitGroupName").GetString().ShouldBe("Team");
        read.GetProperty("Columns")[0].GetProperty("Expression").GetString().ShouldBe("RequestPath");
        var filter = read.GetProperty("Filters")[0];
        filter.GetProperty("Filter").GetString().ShouldBe("@Level = 'Error' and Area = 'checkout'");
        filter.GetProperty("Description").GetString().ShouldBe("errors");
        filter.GetProperty("DescriptionIsExcluded").GetBoolean().ShouldBeFalse();

        var (status, updated) = await SendAsync(_server.Client, HttpMethod.Put, $"/api/signals/{id}", Signal("Checkout failures", "Area = 'checkout' and Has(@Exception)"));
        status.ShouldBe(HttpStatusCode.OK, updated.ToString());
        (await _server.GetJsonAsync($"/api/signals/{id}")).GetProperty("Title").GetString().ShouldBe("Checkout failures");

        (await SendAsync(_server.Client, HttpMethod.Delete, $"/api/signals/{id}")).Status.ShouldBe(HttpStatusCode.NoContent);
        (await SendAsync(_server.Client, HttpMethod.Get, $"/api/signals/{id}")).Status.ShouldBe(HttpStatusCode.NotFound);

        var events = await _server.AuditEventsAsync(all => all.Count(e => e.GetProperty("Category").GetString() == "Signal" && e.GetProperty("Event").GetString() == "Complete") == 3);
        var completes = events.Where(e => e.GetProperty("Category").GetString() == "Signal" && e.GetProperty("Event").GetString() == "Complete").ToList();
        completes.Select(e => e.GetProperty("Operation").GetString()).ShouldBe(["Create", "Update", "Remove"]);
        completes[0].GetProperty("Title").GetString().ShouldBe("Checkout errors");
        completes.ShouldAllBe(e => e.GetProperty("SignalId").GetString() == id);
    }

    [Fact]
    public async Task A_filter_that_does_not_parse_is_refused_with_a_400_naming_its_position_and_nothing_is_stored()
    {
        var (status, body) = await SendAsync(_server.Client, HttpMethod.Post, "/api/signals", Signal("Broken", "Area = 'checkout' and (Code > 5"));
        status.ShouldBe(HttpStatusCode.BadRequest);
        body.GetProperty("Error").GetString()!.ShouldContain("position 31");

        var id = await CreateAsync(_server.Client, Signal("Fine"));
        (status, body) = await SendAsync(_server.Client, HttpMethod.Put, $"/api/signals/{id}", Signal("Fine", "A = = 1"));
        status.ShouldBe(HttpStatusCode.BadRequest);
        body.GetProperty("Error").GetString()!.ShouldContain("position 4");

        (status, body) = await SendAsync(_server.Client, HttpMethod.Post, "/api/signals", """{"Title": "Bad grouping", "Grouping": "Sideways"}""");
        status.ShouldBe(HttpStatusCode.BadRequest, body.ToString());
        (status, body) = await SendAsync(_server.Client, HttpMethod.Post, "/api/signals", """{"Title": "No filter", "Filters": [{"Filter": ""}, null]}""");
        status.ShouldBe(HttpStatusCode.BadRequest, body.ToString());
        body.GetProperty("Error").GetString()!.ShouldContain("Filter 1");

        (await _server.GetJsonAsync("/api/signals?shared=true")).EnumerateArray().Select(s => s.GetProperty("Title").GetString())
            .ShouldBe(["Fine", "Warnings"], ignoreOrder: true);
        (await _server.GetJsonAsync($"/api/signals/{id}")).GetProperty("Filters")[0].GetProperty("Filter").GetString().ShouldBe("@Level = 'Error'");
    }

    [Fact]
    public async Task Shared_signals_need_Write_protected_ones_Project_and_personal_ones_belong_to_their_owner()
    {
        var readerId = await _server.CreateUserAsync("reader", "reader-password-1", "role-user-readonly");
        var writerId = await _server.CreateUserAsync("writer", "writer-password-1", "role-user-readwrite");
        await _server.CreateUserAsync("owner", "owner-password-1", "role-project-owner");
        var reader = await _server.LoginAsync("reader", "reader-password-1");
        var writer = await _server.LoginAsync("writer", "writer-password-1");
        var projectOwner = await _server.LoginAsync("owner", "owner-password-1");

        // Read alone: a personal signal of one's own, but no shared one, and no one else's.
        (await SendAsync(reader, HttpMethod.Post, "/api/signals", Signal("Shared by reader"))).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await SendAsync(reader, HttpMethod.Post, "/api/signals", Signal("For writer", ownerId: writerId))).Status.ShouldBe(HttpStatusCode.Forbidden);
        var personal = await CreateAsync(reader, Signal("Mine", ownerId: readerId));
        (await SendAsync(reader, HttpMethod.Put, $"/api/signals/{personal}", Signal("Still mine", ownerId: readerId))).Status.ShouldBe(HttpStatusCode.OK);
        (await SendAsync(writer, HttpMethod.Get, $"/api/signals/{personal}")).Status.ShouldBe(HttpStatusCode.NotFound);
        (await SendAsync(writer, HttpMethod.Delete, $"/api/signals/{personal}")).Status.ShouldBe(HttpStatusCode.NotFound);
        (await SendAsync(reader, HttpMethod.Get, "/api/signals")).Body.EnumerateArray().Select(s => s.GetProperty("Id").GetString()).ShouldBe([personal]);
        (await SendAsync(writer, HttpMethod.Get, "/api/signals")).Body.EnumerateArray().ShouldBeEmpty();

        // Write: shared signals, but not protected ones.
        var shared = await CreateAsync(writer, Signal("Team errors"));
        (await SendAsync(reader, HttpMethod.Put, $"/api/signals/{shared}", Signal("Hijacked"))).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await SendAsync(reader, HttpMethod.Delete, $"/api/signals/{shared}")).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await SendAsync(writer, HttpMethod.Put, $"/api/signals/{shared}", Signal("Team errors", isProtected: true))).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await SendAsync(writer, HttpMethod.Post, "/api/signals", Signal("Protected", isProtected: true))).Status.ShouldBe(HttpStatusCode.Forbidden);

        // Project: protect, and then only Project may change or remove it.
        (await SendAsync(projectOwner, HttpMethod.Put, $"/api/signals/{shared}", Signal("Team errors", isProtected: true))).Status.ShouldBe(HttpStatusCode.OK);
        (await SendAsync(writer, HttpMethod.Put, $"/api/signals/{shared}", Signal("Team errors"))).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await SendAsync(writer, HttpMethod.Delete, $"/api/signals/{shared}")).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await SendAsync(projectOwner, HttpMethod.Delete, $"/api/signals/{shared}")).Status.ShouldBe(HttpStatusCode.NoContent);

        (await _server.GetJsonAsync($"/api/signals/{personal}")).GetProperty("Title").GetString().ShouldBe("Still mine");
    }
}

using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using System.Text;
using Seq.Tests.Support;

namespace Seq.Tests.Hosting;

public sealed class HostileInputTests : IAsyncLifetime
{
    TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    static IEnumerable<(string Name, HttpContent Content)> Bodies()
    {
        yield return ("empty", new StringContent("", Encoding.UTF8, "application/json"));
        yield return ("null", new StringContent("null", Encoding.UTF8, "application/json"));
        yield return ("truncated", new StringContent("{\"Name\": \"x", Encoding.UTF8, "application/json"));
        yield return ("wrong types", new StringContent("""{"Name": {"a": [1]}, "Location": true, "Value": [1, {"b": null}]}""", Encoding.UTF8, "application/json"));
        yield return ("object value", new StringContent("""{"Value": {"nested": "object"}}""", Encoding.UTF8, "application/json"));
        yield return ("deeply nested", new StringContent(new string('[', 100_000) + new string(']', 100_000), Encoding.UTF8, "application/json"));
        yield return ("huge string", new StringContent($$"""{"Name": "{{new string('x', 400_000)}}", "Location": "/srv", "Value": "{{new string('y', 400_000)}}"}""", Encoding.UTF8, "application/json"));
        yield return ("invalid UTF-8", new ByteArrayContent([0x7B, 0x22, 0x4E, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0xFF, 0x22, 0x7D]) { Headers = { { "Content-Type", "application/json" } } });
        yield return ("not JSON content type", new StringContent("""{"Value": "x"}""", Encoding.UTF8, "text/plain"));
        yield return ("control characters", new StringContent("{\"Name\": \"a\\u0000b\", \"Location\": \"/srv\\u0007\", \"Value\": \"t\\u0000\"}", Encoding.UTF8, "application/json"));
    }

    [Fact]
    public async Task No_request_body_to_any_state_changing_endpoint_produces_a_500_and_none_changes_anything()
    {
        var before = await StateAsync();
        // Every endpoint that takes a body, from the live list, so that a new one is covered without being listed here.
        var targets = _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => !e.RoutePattern.RawText!.EndsWith("/logout", StringComparison.Ordinal))
            // Ingestion takes CLEF, not JSON, and an empty body is a valid request there; IngestionFuzzTests cover it.
            .Where(e => !IsIngestion(e.RoutePattern.RawText!))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Where(m => m is "POST" or "PUT")
                .Select(m => (new HttpMethod(m), "/" + Regex.Replace(e.RoutePattern.RawText!.TrimStart('/'), @"\{[^}]+\}", "setting-InstanceTitle"))))
            .ToList();
        targets.Count.ShouldBeGreaterThan(8);

        foreach (var (method, path) in targets)
        {
            foreach (var (name, content) in Bodies())
            {
                using var request = new HttpRequestMessage(method, path) { Content = content };
                using var response = await _server.Client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();

                ((int)response.StatusCode).ShouldBeInRange(400, 499, $"{method} {path} with {name}: {body}");
                body.ShouldContain("\"Error\"", customMessage: $"{method} {path} with {name}");
            }
        }

        (await StateAsync()).ShouldBe(before);
    }

    static bool IsIngestion(string route) =>
        route.TrimStart('/').StartsWith("api/events/raw", StringComparison.Ordinal) || route.TrimStart('/').StartsWith("ingest/", StringComparison.Ordinal);

    // JSON escapes, since no UTF-8 body can carry these characters raw: a high and a low surrogate alone, a pair in
    // the wrong order, and a lone surrogate between ordinary characters.
    static readonly string[] UnpairedSurrogates = ["\"\\ud800\"", "\"\\udfff\"", "\"\\udc00\\ud800\"", "\"a\\udbffb\""];

    sealed record StringSlot(string Placeholder, string PropertyName, bool AnyJson);

    [Fact]
    public async Task An_unpaired_surrogate_in_any_string_of_any_body_is_a_4xx_with_an_error_and_changes_nothing()
    {
        var before = await StateAsync();
        var targets = _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType is not null)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Method: new HttpMethod(m), Endpoint: e)))
            .ToList();
        targets.Count.ShouldBeGreaterThan(8);

        var sent = 0;
        foreach (var (method, endpoint) in targets)
        {
            var path = await LivePathAsync(endpoint.RoutePattern.RawText!);
            var slots = new List<StringSlot>();
            var template = Template(endpoint.Metadata.GetMetadata<IAcceptsMetadata>()!.RequestType!, "", slots)!.ToJsonString();
            slots.ShouldNotBeEmpty($"{endpoint.RoutePattern.RawText} takes a body without strings");

            foreach (var slot in slots)
            {
                var hostileValues = slot.AnyJson
                    ? UnpairedSurrogates.Concat(UnpairedSurrogates.Select(s => $"{{{s}: 1}}")).Concat(UnpairedSurrogates.Select(s => $"[[{s}]]"))
                    : UnpairedSurrogates;
                foreach (var hostile in hostileValues)
                {
                    var json = slots.Aggregate(template, (text, other) =>
                        text.Replace($"\"{other.Placeholder}\"", other == slot ? hostile : Benign(other.PropertyName)));
                    using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                    using var response = await _server.Client.SendAsync(request);
                    var body = await response.Content.ReadAsStringAsync();
                    sent++;

                    ((int)response.StatusCode).ShouldBeInRange(400, 499, $"{method} {path} with {json}: {body}");
                    JsonDocument.Parse(body).RootElement.GetProperty("Error").GetString().ShouldNotBeNullOrWhiteSpace($"{method} {path} with {json}");
                }
            }
        }

        sent.ShouldBeGreaterThan(100);
        (await StateAsync()).ShouldBe(before);
    }

    /// <summary>The route with each parameter filled by an existing entity's id where there is one, so handlers past binding run.</summary>
    async Task<string> LivePathAsync(string pattern)
    {
        var path = "/" + pattern.TrimStart('/');
        var parameter = path.IndexOf("/{", StringComparison.Ordinal);
        if (parameter < 0)
            return path;
        var collection = path[..parameter];
        var id = collection.EndsWith("/settings", StringComparison.Ordinal) ? "setting-InstanceTitle" : "none";
        using var response = await _server.Client.GetAsync(collection);
        if (response.IsSuccessStatusCode && JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement is { ValueKind: JsonValueKind.Array } items
            && items.GetArrayLength() > 0 && items[0].TryGetProperty("Id", out var first))
            id = first.GetString()!;
        return Regex.Replace(path, @"\{[^}]+\}", id);
    }

    /// <summary>A JSON body of the given shape whose every string (and every free-form JSON value) is a placeholder slot.</summary>
    static JsonNode? Template(Type type, string propertyName, List<StringSlot> slots)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type == typeof(JsonElement) || type == typeof(object))
        {
            var slot = new StringSlot($"slot-{slots.Count}", propertyName, type != typeof(string));
            slots.Add(slot);
            return JsonValue.Create(slot.Placeholder);
        }
        if (type == typeof(bool))
            return JsonValue.Create(false);
        if (type.IsPrimitive || type.IsEnum || type == typeof(decimal))
            return JsonValue.Create(1);
        if (type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>)) is { } sequence)
            return new JsonArray(Template(sequence.GetGenericArguments()[0], propertyName, slots));

        var node = new JsonObject();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite || p.GetMethod is not null))
            node[property.Name] = Template(property.PropertyType, property.Name, slots);
        return node;
    }

    /// <summary>A plausible value for a slot not under test, so that the request gets past the endpoint's own checks.</summary>
    static string Benign(string propertyName) => propertyName switch
    {
        "Id" or "Token" or "OwnerId" => "null",
        "AssignedPermissions" => "\"Ingest\"",
        "RoleIds" => $"\"{Seq.Domain.Security.BuiltInRoles.UserReadOnly.Id}\"",
        "MinimumLevel" => "\"Information\"",
        "Location" => "\"https://feed.example/v3/index.json\"",
        _ => "\"benign\"",
    };

    async Task<string> StateAsync()
    {
        var state = "";
        foreach (var path in new[] { "/api/settings", "/api/feeds", "/api/users", "/api/apikeys" })
            state += (await _server.GetJsonAsync(path)).GetRawText();
        return state;
    }
}

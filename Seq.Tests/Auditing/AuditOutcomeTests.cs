using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Seq.Api.Hosting;
using Seq.Application.Security;
using Seq.Domain;
using Seq.Domain.Security;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Auditing;

/// <summary>Tells a test when the server noticed that the client of a request to <see cref="Path"/> went away.</summary>
public sealed class AbortProbe
{
    public string Path { get; init; } = "";
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

sealed class AbortProbeFilter(AbortProbe probe) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, following) =>
        {
            if (context.Request.Path == probe.Path)
                context.RequestAborted.Register(() => probe.Aborted.TrySetResult());
            return following(context);
        });
        next(app);
    };
}

/// <summary>Holds the start of a session until the client of the login has gone away, then starts it as asked.</summary>
public sealed class SessionsStartingAfterTheClientLeft(PostgresSessions inner, IHttpContextAccessor http) : ISessions
{
    public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public volatile bool Armed;

    public async Task<NewSession> StartAsync(string userId, int passwordVersion, CancellationToken cancellationToken)
    {
        if (Armed)
        {
            var aborted = http.HttpContext!.RequestAborted;
            Reached.TrySetResult();
            await Task.Delay(Timeout.Infinite, aborted).ContinueWith(_ => { }, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(15), CancellationToken.None);
            aborted.IsCancellationRequested.ShouldBeTrue("the server did not notice that the client went away");
        }
        return await inner.StartAsync(userId, passwordVersion, cancellationToken);
    }

    public Task<SessionUser?> FindAsync(string token, CancellationToken cancellationToken) => inner.FindAsync(token, cancellationToken);

    public Task EndAsync(string token, CancellationToken cancellationToken) => inner.EndAsync(token, cancellationToken);

    public Task RestampAsync(string token, int passwordVersion, CancellationToken cancellationToken) => inner.RestampAsync(token, passwordVersion, cancellationToken);
}

/// <summary>Cancels a setting change once its handler has committed it, when its value asks for that.</summary>
public sealed class CancelAfterCommitBehaviour<TRequest, TResponse> : MediatR.IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, MediatR.RequestHandlerDelegate<TResponse> next)
    {
        var response = await next();
        if (request is Seq.Application.Settings.ChangeSettingCommand { Value: "cancelled after commit" })
            throw new OperationCanceledException("The probe cancelled the operation after its change committed.");
        return response;
    }
}

/// <summary>An append observer that always breaks, after the append it is told of has committed.</summary>
public sealed class BrokenAppendObserver : IAppendObserver
{
    public int Calls;

    public Task AfterCommitAsync(IReadOnlyList<IDomainEvent> events, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        throw new InvalidOperationException("The probe observer broke after the commit on purpose.");
    }
}

/// <summary>Every Begin closes exactly once, and its closing event tells the truth about what changed.</summary>
public sealed class AuditOutcomeTests : IAsyncLifetime
{
    const string SettingPath = "/api/settings/setting-InstanceTitle";

    readonly TestPaths _paths = new();
    AuditListener _listener = null!;

    public async Task InitializeAsync() => _listener = await AuditListener.StartAsync();

    public async Task DisposeAsync()
    {
        try
        {
            await _listener.DisposeAsync();
        }
        finally
        {
            _paths.Dispose();
        }
    }

    string NewAuditDirectory() => _paths.New("audit-outcome");

    static string? Text(JsonElement e, string property) => e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    static List<string?> EventsOf(IEnumerable<JsonElement> events, string? operationId) =>
        [.. events.Where(e => Text(e, "OperationId") == operationId).Select(e => Text(e, "Event"))];

    [Fact]
    public async Task A_client_that_leaves_while_its_begin_is_pending_gets_exactly_one_abandon_and_nothing_changes()
    {
        var probe = new AbortProbe { Path = SettingPath };
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(null, _listener.Address, "audit-ingestion-key-0123456789"),
            ConfigureServices = services => services.AddSingleton<IStartupFilter>(new AbortProbeFilter(probe)),
        });
        (await server.Client.PutAsJsonAsync(SettingPath, new { Value = "before" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        // Closing events do not block their response: once this one is in, the next request the audit server sees is the Begin.
        await Poll.UntilAsync(() => _listener.AcceptedLines.Any(l => l.Contains("\"Event\":\"Complete\"", StringComparison.Ordinal) && l.Contains("\"Value\":\"before\"", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(15), "the first change's Complete reaching the audit server");

        var requestsBefore = _listener.Requests;
        _listener.Hold();
        using var leaving = new CancellationTokenSource();
        var sending = server.Client.PutAsJsonAsync(SettingPath, new { Value = "left during begin" }, leaving.Token);
        await Poll.UntilAsync(() => _listener.Requests > requestsBefore, TimeSpan.FromSeconds(15), "the Begin reaching the audit server");
        await leaving.CancelAsync();
        await Should.ThrowAsync<TaskCanceledException>(sending);
        await probe.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(15));
        _listener.Release();

        (await server.Client.PutAsJsonAsync(SettingPath, new { Value = "after" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        List<JsonElement> events = [];
        await Poll.UntilAsync(() =>
        {
            events = [.. _listener.AcceptedLines.Select(l => JsonDocument.Parse(l).RootElement.Clone())];
            return events.Any(e => Text(e, "Event") == "Complete" && Text(e, "Value") == "after");
        }, TimeSpan.FromSeconds(20), "the later operation's Complete reaching the audit server");

        var begin = events.Single(e => Text(e, "Event") == "Begin" && Text(e, "Value") == "left during begin");
        EventsOf(events, Text(begin, "OperationId")).ShouldBe(["Begin", "Abandon"]);
        (await server.GetJsonAsync(SettingPath)).GetProperty("Value").GetString().ShouldBe("after");
        events.Where(e => Text(e, "Event") == "Begin").Select(e => Text(e, "OperationId"))
            .ShouldAllBe(id => EventsOf(events, id).Count(kind => kind != "Begin") == 1);
    }

    [Fact]
    public async Task A_login_whose_password_change_committed_before_the_client_left_is_audited_as_complete_not_abandon()
    {
        SessionsStartingAfterTheClientLeft? sessions = null;
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(NewAuditDirectory(), null, null),
            ConfigureServices = services =>
            {
                services.AddHttpContextAccessor();
                services.AddSingleton<PostgresSessions>();
                services.AddSingleton(provider => sessions = new SessionsStartingAfterTheClientLeft(
                    provider.GetRequiredService<PostgresSessions>(), provider.GetRequiredService<IHttpContextAccessor>()));
                services.AddSingleton<ISessions>(provider => provider.GetRequiredService<SessionsStartingAfterTheClientLeft>());
            },
        });
        await server.CreateUserAsync("leaving-user", "leaving-password-1", BuiltInRoles.UserReadOnly.Id);
        server.Secrets.Add("leaving-password-2");

        sessions!.Armed = true;
        using var leaving = new CancellationTokenSource();
        var sending = server.CreateClient().PostAsJsonAsync("/api/users/login",
            new { Username = "leaving-user", Password = "leaving-password-1", NewPassword = "leaving-password-2" }, leaving.Token);
        await sessions.Reached.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await leaving.CancelAsync();
        await Should.ThrowAsync<TaskCanceledException>(sending);

        static JsonElement? BeginOf(List<JsonElement> all) =>
            all.SingleOrDefault(e => Text(e, "Operation") == "LocalLogin" && Text(e, "Event") == "Begin" && Text(e, "Username") == "leaving-user") is { ValueKind: JsonValueKind.Object } b ? b : null;
        var events = await server.AuditEventsAsync(all => BeginOf(all) is { } b && EventsOf(all, Text(b, "OperationId")).Count >= 2);
        EventsOf(events, Text(BeginOf(events)!.Value, "OperationId")).ShouldBe(["Begin", "Complete"]);

        sessions.Armed = false;
        await server.LoginAsync("leaving-user", "leaving-password-2");
    }

    [Fact]
    public async Task A_refusal_that_arrives_after_the_change_committed_is_audited_as_a_fail_that_says_so_never_as_abandon()
    {
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(NewAuditDirectory(), null, null),
            ConfigureServices = services => services.AddTransient(typeof(MediatR.IPipelineBehavior<,>), typeof(CancelAfterCommitBehaviour<,>)),
        });

        (await server.Client.PutAsJsonAsync(SettingPath, new { Value = "cancelled after commit" })).IsSuccessStatusCode.ShouldBeFalse();

        (await server.GetJsonAsync(SettingPath)).GetProperty("Value").GetString().ShouldBe("cancelled after commit");
        var events = await server.AuditEventsAsync(all => all.Any(e => Text(e, "Operation") == "Update" && Text(e, "Event") is "Fail" or "Abandon"));
        var closing = events.Single(e => Text(e, "Operation") == "Update" && Text(e, "Event") is "Fail" or "Abandon");
        Text(closing, "Event").ShouldBe("Fail");
        Text(closing, "Effect").ShouldBe("Committed");
        Text(closing, "@m")!.ShouldContain("after its change was committed");
    }

    [Fact]
    public async Task An_append_observer_that_fails_after_the_commit_does_not_fail_the_request_and_the_new_key_is_returned_and_usable()
    {
        var broken = new BrokenAppendObserver();
        await using var server = await TestServer.StartAsync(o => o with
        {
            Audit = new AuditOptions(NewAuditDirectory(), null, null),
            // First among the observers, so that the security directory's own refresh comes after it.
            ConfigureServices = services => services.Insert(0, ServiceDescriptor.Singleton<IAppendObserver>(broken)),
        });

        using var response = await server.Client.PostAsJsonAsync("/api/apikeys", new { Title = "after a broken observer", AssignedPermissions = new[] { "Read" } });
        var created = await TestServer.ReadAsync(response, HttpStatusCode.Created);
        var token = created.GetProperty("Token").GetString()!;
        server.Secrets.Add(token);
        broken.Calls.ShouldBeGreaterThan(0);

        (await server.ApiKeyClient(token).GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var events = await server.AuditEventsAsync(all => all.Any(e => Text(e, "Operation") == "Create" && Text(e, "Event") == "Complete"));
        var complete = events.Single(e => Text(e, "Operation") == "Create" && Text(e, "Event") == "Complete");
        EventsOf(events, Text(complete, "OperationId")).ShouldBe(["Begin", "Complete"]);
        server.Log.Text.ShouldContain("The probe observer broke after the commit on purpose.");
    }

    [Fact]
    public async Task A_security_directory_reload_that_fails_after_a_commit_leaves_the_request_successful_and_the_directory_is_reloaded_before_it_is_trusted()
    {
        await using var server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(NewAuditDirectory(), null, null) });
        var directory = server.Services.GetRequiredService<SecurityDirectory>();

        // A user's creation does not touch api_keys, but the directory's reload reads it: the reload fails after the commit.
        var userId = await WhileHiddenAsync(server, "api_keys", async () =>
        {
            var id = await server.CreateUserAsync("directory-user", "directory-password-1", BuiltInRoles.UserReadOnly.Id);
            directory.IsStale.ShouldBeTrue();
            return id;
        });

        var events = await server.AuditEventsAsync(all => all.Any(e => Text(e, "Category") == "User" && Text(e, "Operation") == "Create" && Text(e, "Event") is "Complete" or "Fail"));
        var begin = events.Single(e => Text(e, "Category") == "User" && Text(e, "Operation") == "Create" && Text(e, "Event") == "Begin" && Text(e, "Username") == "directory-user");
        EventsOf(events, Text(begin, "OperationId")).ShouldBe(["Begin", "Complete"]);

        // The new user's session is checked against the directory, which reloads first, so it knows the user.
        var user = await server.LoginAsync("directory-user", "directory-password-1");
        (await TestServer.ReadAsync(await user.GetAsync("/api/users/current"), HttpStatusCode.OK)).GetProperty("Id").GetString().ShouldBe(userId);
        directory.IsStale.ShouldBeFalse();
    }

    [Fact]
    public async Task A_key_created_while_the_directory_could_not_reload_works_at_its_first_use_because_the_directory_reloads_first()
    {
        await using var server = await TestServer.StartAsync(o => o with { Audit = new AuditOptions(NewAuditDirectory(), null, null) });
        var directory = server.Services.GetRequiredService<SecurityDirectory>();

        // A key's creation does not touch users, but the directory's reload reads it: the reload fails after the commit.
        var token = await WhileHiddenAsync(server, "users", async () =>
        {
            using var response = await server.Client.PostAsJsonAsync("/api/apikeys", new { Title = "while stale", AssignedPermissions = new[] { "Read" } });
            var created = (await TestServer.ReadAsync(response, HttpStatusCode.Created)).GetProperty("Token").GetString()!;
            server.Secrets.Add(created);
            directory.IsStale.ShouldBeTrue();
            return created;
        });

        (await server.ApiKeyClient(token).GetAsync("/api/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
        directory.IsStale.ShouldBeFalse();
    }

    /// <summary>Runs <paramref name="action"/> while <paramref name="table"/> is renamed away, so that whatever reads it fails.</summary>
    static async Task<T> WhileHiddenAsync<T>(TestServer server, string table, Func<Task<T>> action)
    {
        await ExecuteAsync(server, $"ALTER TABLE {table} RENAME TO {table}_hidden");
        try
        {
            return await action();
        }
        finally
        {
            await ExecuteAsync(server, $"ALTER TABLE {table}_hidden RENAME TO {table}");
        }
    }

    static async Task ExecuteAsync(TestServer server, string sql)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

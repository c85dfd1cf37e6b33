using Seq.Application.ApiKeys;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Seq.Application.EventSourcing;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;
using Seq.Domain.Signals;
using Seq.Domain.Users;

namespace Seq.Infrastructure.Security;

/// <summary>
/// How the very first start sets the instance up: an administrator whose password is given (in clear or as a
/// hash) or generated, or, only if asked for explicitly, no authentication at all.
/// </summary>
public sealed record FirstRunOptions(string AdminUsername = "admin", string? AdminPassword = null, string? AdminPasswordHash = null, bool NoAuthentication = false)
{
    /// <summary>
    /// The token of a shared Ingest-only API key created at first start, so that a server that audits to this one can
    /// be given the same token up front (an audit target provisioned by docker-compose, say).
    /// </summary>
    public string? IngestApiKey { get; init; }

    public override string ToString() =>
        $"FirstRunOptions {{ AdminUsername = {AdminUsername}, AdminPassword = {(AdminPassword is null ? "none" : "(secret)")}, " +
        $"AdminPasswordHash = {(AdminPasswordHash is null ? "none" : "(set)")}, NoAuthentication = {NoAuthentication}, " +
        $"IngestApiKey = {(IngestApiKey is null ? "none" : "(secret)")} }}";
}

public sealed class FirstRunException(string message) : Exception(message);

/// <summary>Whether this instance authenticates requests; decided at first start and read at every start.</summary>
public sealed class InstanceAuthenticationState
{
    public bool Enabled { get; set; } = true;
}

public static class FirstRun
{
    const string PasswordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    const int GeneratedPasswordLength = 24;

    /// <summary>Sets up a new instance, or reads how an existing one was set up. Safe when several nodes start at once.</summary>
    /// <remarks>
    /// The administrator and the configuration are stored in one transaction, so a start that fails or dies part
    /// way leaves nothing, and the next start begins again. A generated password is shown before that commit and
    /// confirmed after it (ADR 0013): shown afterwards, a crash between the two would leave an administrator whose
    /// password nobody ever saw.
    /// </remarks>
    public static async Task<bool> EnsureAsync(IServiceProvider services, FirstRunOptions options, TextWriter console, ILogger logger, CancellationToken cancellationToken)
    {
        using var scope = services.CreateScope();
        var store = scope.ServiceProvider.GetRequiredService<IEventStore>();
        var clock = scope.ServiceProvider.GetRequiredService<TimeProvider>();

        var (state, _) = await store.LoadAsync<InstanceAuthentication>(InstanceAuthentication.StreamId, cancellationToken);
        if (!state.IsConfigured)
        {
            var appends = new List<StreamAppend>();
            string? generatedPassword = null;
            if (!options.NoAuthentication)
            {
                // An administrator without a configuration is what a version that stored them one after the other
                // left when it stopped in between; it is kept, and only the configuration is added.
                var (existing, _) = await store.LoadAsync<User>(User.StreamIdFor(User.AdministratorId), cancellationToken);
                if (!existing.Exists)
                {
                    (var created, generatedPassword) = NewAdministrator(options, clock);
                    appends.Add(new StreamAppend(User.StreamIdFor(User.AdministratorId), User.StreamType, 0, [created]));
                }
            }
            // The shared Warnings signal exists from the first start, committed with the rest of the set-up (issue 13).
            var (warnings, _) = await store.LoadAsync<Signal>(Signal.StreamIdFor(Signal.WarningsId), cancellationToken);
            if (!warnings.Exists)
                appends.Add(new StreamAppend(Signal.StreamIdFor(Signal.WarningsId), Signal.StreamType, 0,
                    [Signal.Create(Signal.WarningsId, null, Signal.WarningsDefinition, clock.GetUtcNow())]));
            if (!string.IsNullOrEmpty(options.IngestApiKey))
                appends.Add(IngestApiKey(options.IngestApiKey, scope.ServiceProvider.GetRequiredService<ApiKeyTokens>(), clock));
            appends.Add(new StreamAppend(InstanceAuthentication.StreamId, InstanceAuthentication.StreamType, 0,
                [new AuthenticationConfigured(!options.NoAuthentication, options.NoAuthentication ? null : User.AdministratorId, clock.GetUtcNow())]));

            var adminUsername = AdminUsername(options);
            if (generatedPassword is not null)
                PrintGeneratedPassword(console, adminUsername, generatedPassword);
            try
            {
                await store.AppendAsync(appends, cancellationToken);
                if (generatedPassword is not null)
                    PrintNotice(console, $"First start complete: the password above is now the password of the administrator '{adminUsername}'.");
            }
            catch (ConcurrencyException)
            {
                // Another node finished the first start at the same moment; its choice (and its password) stands.
                if (generatedPassword is not null)
                    PrintNotice(console, "Another node completed the first start at the same moment: the password above was NOT stored. " +
                                         "Use the one that node printed.");
            }
            catch (Exception) when (generatedPassword is not null)
            {
                PrintNotice(console, "The first start did not complete, so the password above may not have been stored. If the next start " +
                                     "prints a new password, use that one; if it prints none, the password above is valid.");
                throw;
            }

            (state, _) = await store.LoadAsync<InstanceAuthentication>(InstanceAuthentication.StreamId, cancellationToken);
        }

        if (!state.Enabled)
            logger.LogWarning("Authentication is disabled: anyone who can reach this server can read and change everything. " +
                              "It was turned off at first start with SEQ_FIRSTRUN_NOAUTHENTICATION");
        return state.Enabled;
    }

    public const string IngestApiKeyTitle = "Ingestion (provisioned at first start)";

    /// <summary>A shared key allowed only to ingest, stored as every key is: its prefix and a keyed hash, never the token.</summary>
    static StreamAppend IngestApiKey(string token, ApiKeyTokens tokens, TimeProvider clock)
    {
        // The same rule as a token a client chooses for a shared key through the API (ADR 0005).
        if (ClientChosenTokens.Weakness(token) is { } weakness)
            throw new FirstRunException($"SEQ_FIRSTRUN_INGESTAPIKEY is refused: {weakness} For example: `tr -dc A-Za-z0-9 </dev/urandom | head -c 32`.");
        var salt = RandomNumberGenerator.GetBytes(ApiKeyTokens.SaltLength);
        var id = ApiKey.NewId();
        var created = ApiKey.Create(id, IngestApiKeyTitle, token[..ApiKeyTokens.PrefixLength], salt, tokens.ComputeHash(token, salt),
            [Permission.Ingest], null, InputSettings.None, clock.GetUtcNow());
        return new StreamAppend(ApiKey.StreamIdFor(id), ApiKey.StreamType, 0, [created]);
    }

    static string AdminUsername(FirstRunOptions options) => string.IsNullOrWhiteSpace(options.AdminUsername) ? "admin" : options.AdminUsername;

    /// <returns>The administrator's creation, and its password when one had to be generated.</returns>
    static (UserCreated Created, string? GeneratedPassword) NewAdministrator(FirstRunOptions options, TimeProvider clock)
    {
        string? generated = null;
        string hash;
        if (!string.IsNullOrEmpty(options.AdminPasswordHash))
        {
            hash = PasswordHasher.IsWellFormed(options.AdminPasswordHash) ? options.AdminPasswordHash
                : throw new FirstRunException("SEQ_FIRSTRUN_ADMINPASSWORDHASH is not a password hash from `seqsvr config hash`.");
        }
        else if (!string.IsNullOrEmpty(options.AdminPassword))
        {
            if (Seq.Application.Users.PasswordPolicy.ProblemWithBeforeFirstStart(options.AdminPassword) is { } problem)
                throw new FirstRunException($"SEQ_FIRSTRUN_ADMINPASSWORD is refused: {problem}");
            hash = new PasswordHasher().Hash(options.AdminPassword);
        }
        else
        {
            generated = RandomNumberGenerator.GetString(PasswordAlphabet, GeneratedPasswordLength);
            hash = new PasswordHasher().Hash(generated);
        }

        var created = User.Create(User.AdministratorId, AdminUsername(options),
            null, null, [BuiltInRoles.Administrator.Id], null, hash, mustChangePassword: generated is not null, clock.GetUtcNow());
        return (created, generated);
    }

    // Written straight to the console and never to the log: log files are kept and shipped, and this password
    // must be seen once, by whoever started the server, and then changed.
    static void PrintGeneratedPassword(TextWriter console, string username, string password)
    {
        console.WriteLine();
        console.WriteLine("************************************************************************");
        console.WriteLine($"  First start: creating the administrator '{username}' with the password");
        console.WriteLine();
        console.WriteLine($"      {password}");
        console.WriteLine();
        console.WriteLine("  It is shown only this once and must be changed at the first login.");
        console.WriteLine("************************************************************************");
        console.WriteLine();
        console.Flush();
    }

    static void PrintNotice(TextWriter console, string notice)
    {
        console.WriteLine(notice);
        console.WriteLine();
        console.Flush();
    }
}

using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Seq.Application.EventSourcing;
using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Infrastructure.Security;

/// <summary>
/// How the very first start sets the instance up: an administrator whose password is given (in clear or as a
/// hash) or generated, or, only if asked for explicitly, no authentication at all.
/// </summary>
public sealed record FirstRunOptions(string AdminUsername = "admin", string? AdminPassword = null, string? AdminPasswordHash = null, bool NoAuthentication = false)
{
    public override string ToString() =>
        $"FirstRunOptions {{ AdminUsername = {AdminUsername}, AdminPassword = {(AdminPassword is null ? "none" : "(secret)")}, " +
        $"AdminPasswordHash = {(AdminPasswordHash is null ? "none" : "(set)")}, NoAuthentication = {NoAuthentication} }}";
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
    public static async Task<bool> EnsureAsync(IServiceProvider services, FirstRunOptions options, TextWriter console, ILogger logger, CancellationToken cancellationToken)
    {
        using var scope = services.CreateScope();
        var store = scope.ServiceProvider.GetRequiredService<IEventStore>();
        var clock = scope.ServiceProvider.GetRequiredService<TimeProvider>();

        var (state, _) = await store.LoadAsync<InstanceAuthentication>(InstanceAuthentication.StreamId, cancellationToken);
        if (!state.IsConfigured)
        {
            string? generatedPassword = null;
            if (!options.NoAuthentication)
                generatedPassword = await CreateAdministratorAsync(store, options, clock, cancellationToken);

            try
            {
                await store.AppendAsync(InstanceAuthentication.StreamId, InstanceAuthentication.StreamType, 0,
                    [new AuthenticationConfigured(!options.NoAuthentication, options.NoAuthentication ? null : User.AdministratorId, clock.GetUtcNow())],
                    cancellationToken);
            }
            catch (ConcurrencyException)
            {
                // Another node finished the first start at the same moment; its choice stands.
            }

            (state, _) = await store.LoadAsync<InstanceAuthentication>(InstanceAuthentication.StreamId, cancellationToken);
            if (generatedPassword is not null)
                PrintGeneratedPassword(console, options.AdminUsername, generatedPassword);
        }

        if (!state.Enabled)
            logger.LogWarning("Authentication is disabled: anyone who can reach this server can read and change everything. " +
                              "It was turned off at first start with SEQ_FIRSTRUN_NOAUTHENTICATION");
        return state.Enabled;
    }

    /// <returns>The generated password, when one had to be made and this node's administrator is the one that was stored.</returns>
    static async Task<string?> CreateAdministratorAsync(IEventStore store, FirstRunOptions options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (existing, _) = await store.LoadAsync<User>(User.StreamIdFor(User.AdministratorId), cancellationToken);
        if (existing.Exists)
            return null;

        string? generated = null;
        string hash;
        if (!string.IsNullOrEmpty(options.AdminPasswordHash))
        {
            hash = PasswordHasher.IsWellFormed(options.AdminPasswordHash) ? options.AdminPasswordHash
                : throw new FirstRunException("SEQ_FIRSTRUN_ADMINPASSWORDHASH is not a password hash from `seqsvr config hash`.");
        }
        else if (!string.IsNullOrEmpty(options.AdminPassword))
        {
            if (options.AdminPassword.Length is < 8 or > User.MaximumPasswordLength)
                throw new FirstRunException($"SEQ_FIRSTRUN_ADMINPASSWORD must be 8 to {User.MaximumPasswordLength} characters long.");
            hash = new PasswordHasher().Hash(options.AdminPassword);
        }
        else
        {
            generated = RandomNumberGenerator.GetString(PasswordAlphabet, GeneratedPasswordLength);
            hash = new PasswordHasher().Hash(generated);
        }

        var created = User.Create(User.AdministratorId, string.IsNullOrWhiteSpace(options.AdminUsername) ? "admin" : options.AdminUsername,
            null, null, [BuiltInRoles.Administrator.Id], null, hash, mustChangePassword: generated is not null, clock.GetUtcNow());
        try
        {
            await store.AppendAsync(User.StreamIdFor(User.AdministratorId), User.StreamType, 0, [created], cancellationToken);
            return generated;
        }
        catch (ConcurrencyException)
        {
            return null;
        }
    }

    // Written straight to the console and never to the log: log files are kept and shipped, and this password
    // must be seen once, by whoever started the server, and then changed.
    static void PrintGeneratedPassword(TextWriter console, string username, string password)
    {
        console.WriteLine();
        console.WriteLine("************************************************************************");
        console.WriteLine($"  First start: created the administrator '{username}' with the password");
        console.WriteLine();
        console.WriteLine($"      {password}");
        console.WriteLine();
        console.WriteLine("  It is shown only this once and must be changed at the first login.");
        console.WriteLine("************************************************************************");
        console.WriteLine();
        console.Flush();
    }
}

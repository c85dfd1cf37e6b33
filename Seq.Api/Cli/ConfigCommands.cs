using System.CommandLine;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.Security;

namespace Seq.Api.Cli;

/// <summary><c>seqsvr config …</c> and <c>seqsvr secret set</c>: the host settings in <c>Seq.json</c> under the storage root.</summary>
static class ConfigCommands
{
    public static Command Config(Option<string?> storage, CliConsole console) =>
        new("config", "Read and change the host settings kept in Seq.json under the storage root. SEQ_SECTION_KEY environment variables override them.")
        {
            List(storage, console),
            Get(storage, console),
            Set(storage, console),
            Clear(storage, console),
            Hash(storage, console),
        };

    public static Command Secret(Option<string?> storage, CliConsole console)
    {
        var key = KeyOption();
        var value = new Option<string?>("--value", "-v")
        {
            Description = "The value; without it, one line is read from standard input (without echo on a terminal), which keeps it out of the shell history.",
        };

        var set = new Command("set", "Store a secret setting in Seq.json, encrypted under the instance's secret key.") { storage, key, value };
        set.SetAction((result, cancellationToken) => console.RunAsync(async () =>
        {
            var setting = HostSettingCatalogue.Find(result.GetValue(key)!);
            if (!setting.IsSecret)
                throw new CliException($"{setting.Key} is not a secret: store it with `seqsvr config set -k {setting.Key} -v VALUE`.");

            var secret = result.GetValue(value) ?? console.ReadSecretLine($"{setting.Key}: ");
            if (string.IsNullOrEmpty(secret))
                throw new CliException($"No value was given for {setting.Key}.");

            // Checked before the key is loaded, which would create one in a new storage root.
            if (!setting.TryNormalize(secret, out _, out var problem))
                throw new CliException(problem!);

            var instance = CliInstance.Open(result.GetValue(storage), console);
            var secretKey = await instance.LoadSecretKeyAsync(cancellationToken);
            var configuration = instance.Configuration.WithProtector(new AesGcmSecretProtector(secretKey));
            configuration.SetSecret(setting.Key, secret);
            await NoteOverrideAsync(console, configuration, setting.Key);
            return 0;
        }));

        return new Command("secret", "Store secret host settings encrypted.") { set };
    }

    static Command List(Option<string?> storage, CliConsole console)
    {
        var command = new Command("list", "Show every host setting, its value and where it comes from; secret values are never shown.") { storage };
        command.SetAction((result, _) => console.RunAsync(async () =>
        {
            var listed = CliInstance.Open(result.GetValue(storage), console).Configuration.List();
            var width = listed.Max(s => s.Key.Length);
            foreach (var (key, value, source) in listed)
                await console.Output.WriteLineAsync(value is null ? $"{key.PadRight(width)}  ({source})" : $"{key.PadRight(width)}  {value}  ({source})");
            return 0;
        }));
        return command;
    }

    static Command Get(Option<string?> storage, CliConsole console)
    {
        var key = KeyOption();
        var command = new Command("get", "Print a setting's value as the server sees it (its environment variable wins over Seq.json); nothing when it is not set.") { storage, key };
        command.SetAction((result, _) => console.RunAsync(async () =>
        {
            var setting = HostSettingCatalogue.Find(result.GetValue(key)!);
            if (setting.IsSecret)
                throw new CliException($"{setting.Key} is a secret and is never printed; `seqsvr config list` shows whether it is set.");

            var value = CliInstance.Open(result.GetValue(storage), console).Configuration.Get(setting.Key);
            if (value is not null)
                await console.Output.WriteLineAsync(value);
            return 0;
        }));
        return command;
    }

    static Command Set(Option<string?> storage, CliConsole console)
    {
        var key = KeyOption();
        var value = new Option<string>("--value", "-v") { Description = "The value.", Required = true };
        var command = new Command("set", "Store a setting in Seq.json. Secret settings are stored with `seqsvr secret set` instead.") { storage, key, value };
        command.SetAction((result, _) => console.RunAsync(async () =>
        {
            var configuration = CliInstance.Open(result.GetValue(storage), console).Configuration;
            configuration.Set(result.GetValue(key)!, result.GetValue(value)!);
            await NoteOverrideAsync(console, configuration, result.GetValue(key)!);
            return 0;
        }));
        return command;
    }

    static Command Clear(Option<string?> storage, CliConsole console)
    {
        var key = KeyOption();
        var command = new Command("clear", "Remove a setting from Seq.json.") { storage, key };
        command.SetAction((result, _) => console.RunAsync(async () =>
        {
            var configuration = CliInstance.Open(result.GetValue(storage), console).Configuration;
            var setting = HostSettingCatalogue.Find(result.GetValue(key)!);
            if (!configuration.Clear(setting.Key))
                await console.Error.WriteLineAsync($"{setting.Key} was not set in {configuration.FilePath}.");
            await NoteOverrideAsync(console, configuration, setting.Key);
            return 0;
        }));
        return command;
    }

    static Command Hash(Option<string?> storage, CliConsole console)
    {
        var command = new Command("hash", "Read a password from standard input and print a hash for SEQ_FIRSTRUN_ADMINPASSWORDHASH (firstRun.adminPasswordHash).") { storage };
        command.SetAction((result, _) => console.RunAsync(async () =>
        {
            var password = console.ReadSecretLine("Password: ");
            if (string.IsNullOrEmpty(password))
                throw new CliException("An empty password cannot be hashed: give the password on standard input.");
            // A hash given at first start is taken as it is, so the rule the clear password would meet is applied here.
            if (Seq.Application.Users.PasswordPolicy.ProblemWithBeforeFirstStart(password) is { } problem)
                throw new CliException($"{problem} Nothing was hashed.");
            if (console.InputIsTerminal && console.ReadSecretLine("Again: ") != password)
                throw new CliException("The two passwords differ.");

            await console.Output.WriteLineAsync(new PasswordHasher().Hash(password));
            return 0;
        }));
        return command;
    }

    static Option<string> KeyOption() => new("--key", "-k") { Description = "The setting's key, such as audit.auditPath.", Required = true };

    // The server reads the environment first, so a change to the file that it hides would otherwise look like it did nothing.
    static async Task NoteOverrideAsync(CliConsole console, HostConfiguration configuration, string key)
    {
        var variable = configuration.OverridingEnvironmentVariable(key);
        if (variable is not null)
            await console.Error.WriteLineAsync($"{variable} is set in this environment and overrides {configuration.FilePath} for {HostSettingCatalogue.Find(key).Key}.");
    }
}

using System.CommandLine;
using Seq.Infrastructure.Security;

namespace Seq.Api.Cli;

static class KeyCommands
{
    public static Command ShowKey(Option<string?> storage, CliConsole console)
    {
        var generate = new Option<bool>("--generate")
        {
            Description = "Print a newly generated key, to give as SEQ_STORAGE_SECRETKEY at first start; no instance is read or changed.",
        };

        var command = new Command("show-key", "Print the instance's secret key in base64. Backups cannot be restored without it: keep it safe.")
        {
            storage,
            generate,
        };

        command.SetAction((result, cancellationToken) => console.RunAsync(async () =>
        {
            if (result.GetValue(generate))
            {
                await console.Output.WriteLineAsync(SecretKey.Generate().ToBase64());
                return 0;
            }

            var instance = CliInstance.Open(result.GetValue(storage), console);
            // Loading would store a new key, and print a key that belongs to no instance.
            if (!instance.HasSecretKey)
                throw new CliException(
                    $"There is no instance at {instance.StorageRoot} (it holds no {SecretKeyLoader.KeyFileName}): give the storage root a server has run on, " +
                    "or use `seqsvr show-key --generate` for a new key to start one with.");
            var key = await instance.LoadSecretKeyAsync(cancellationToken);
            await console.Output.WriteLineAsync(key.ToBase64());
            return 0;
        }));

        return command;
    }
}

using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Seq.Infrastructure.Security;

/// <summary>
/// Records which secret key a database was initialized with, and refuses any other key afterwards: data protected under
/// one key cannot be read under another, and a server that silently started with the wrong key would write more of it.
/// </summary>
public static class SecretKeyVerification
{
    /// <exception cref="SecretKeyException">The database was initialized with another secret key.</exception>
    public static async Task VerifyOrRecordAsync(NpgsqlDataSource dataSource, SecretKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(key);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var record = new NpgsqlCommand(
            "INSERT INTO instance_secret_key (key_id, check_value) VALUES ($1, $2) ON CONFLICT (singleton) DO NOTHING", connection, transaction))
        {
            record.Parameters.Add(new NpgsqlParameter { Value = key.KeyId });
            record.Parameters.Add(new NpgsqlParameter { Value = key.CheckValue });
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        string storedKeyId;
        string storedCheckValue;
        await using (var read = new NpgsqlCommand("SELECT key_id, check_value FROM instance_secret_key", connection, transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
                throw new InvalidOperationException("instance_secret_key is empty right after a row was inserted into it.");
            storedKeyId = reader.GetString(0);
            storedCheckValue = reader.GetString(1);
        }

        await transaction.CommitAsync(cancellationToken);

        var sameCheckValue = CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(storedCheckValue), Encoding.UTF8.GetBytes(key.CheckValue));
        if (sameCheckValue && storedKeyId == key.KeyId)
            return;

        var started = storedKeyId == key.KeyId ? $"a different secret key that happens to have the same id {key.KeyId}" : $"secret key {key.KeyId}";
        throw new SecretKeyException(
            $"This storage was initialized with secret key {storedKeyId}; the server was started with {started}. Start it with the " +
            $"original key ({SecretKeyOptions.SecretKeySetting} or the secret key provider): data protected under one key cannot be read " +
            "under another.");
    }
}

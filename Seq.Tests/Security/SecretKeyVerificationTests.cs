using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Infrastructure;
using Seq.Infrastructure.EventSourcing;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Security;

public sealed class SecretKeyVerificationTests
{
    static async Task<NpgsqlDataSource> MigratedDatabaseAsync()
    {
        var dataSource = DependencyInjection.CreateDataSource(await TestPostgres.CreateDatabaseAsync("key"));
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(default);
        return dataSource;
    }

    static async Task<(string KeyId, string CheckValue)> StoredAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT key_id, check_value FROM instance_secret_key");
        await using var reader = await command.ExecuteReaderAsync();
        reader.Read().ShouldBeTrue("a key is recorded");
        var stored = (reader.GetString(0), reader.GetString(1));
        reader.Read().ShouldBeFalse("only one key is recorded");
        return stored;
    }

    [Fact]
    public async Task The_first_key_is_recorded_and_verifies_again()
    {
        await using var dataSource = await MigratedDatabaseAsync();
        var key = SecretKey.Generate();

        await SecretKeyVerification.VerifyOrRecordAsync(dataSource, key, default);
        await SecretKeyVerification.VerifyOrRecordAsync(dataSource, SecretKey.FromBase64(key.ToBase64()), default);

        (await StoredAsync(dataSource)).ShouldBe((key.KeyId, key.CheckValue));
    }

    [Fact]
    public async Task A_different_key_is_refused_naming_both_key_ids_and_the_record_is_unchanged()
    {
        await using var dataSource = await MigratedDatabaseAsync();
        var original = SecretKey.Generate();
        await SecretKeyVerification.VerifyOrRecordAsync(dataSource, original, default);
        var other = SecretKey.Generate();

        var refused = await Should.ThrowAsync<SecretKeyException>(() => SecretKeyVerification.VerifyOrRecordAsync(dataSource, other, default));

        refused.Message.ShouldContain($"initialized with secret key {original.KeyId}");
        refused.Message.ShouldContain($"started with secret key {other.KeyId}");
        refused.Message.ShouldContain("SEQ_STORAGE_SECRETKEY");
        refused.Message.ShouldNotContain(original.ToBase64());
        refused.Message.ShouldNotContain(other.ToBase64());
        (await StoredAsync(dataSource)).ShouldBe((original.KeyId, original.CheckValue));
    }

    [Fact]
    public async Task Nodes_starting_together_with_the_same_key_all_verify()
    {
        await using var dataSource = await MigratedDatabaseAsync();
        var key = SecretKey.Generate();

        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => SecretKeyVerification.VerifyOrRecordAsync(dataSource, key, default)));

        (await StoredAsync(dataSource)).ShouldBe((key.KeyId, key.CheckValue));
    }
}

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
        refused.Message.ShouldEndWith("data protected under one key cannot be read under another.");
        refused.Message.ShouldNotContain(original.ToBase64());
        refused.Message.ShouldNotContain(other.ToBase64());
        (await StoredAsync(dataSource)).ShouldBe((original.KeyId, original.CheckValue));
    }

    // Two different keys whose 32-bit ids collide (found once by a birthday search over HKDF-SHA256 as ADR 0004 derives
    // the id): the id alone cannot tell them apart, only the check value can.
    const string CollidingKeyA = "NcQv3iFkcL6pBSvhXNMGYJOQ1ElDr1H5I/HHx0B8E+U=";
    const string CollidingKeyB = "KFmhYIBag186pyCJK00mIEgYzZyDWRj7mEyvhuurFIY=";

    [Fact]
    public async Task A_different_key_with_the_same_id_as_the_recorded_one_is_refused_by_its_check_value()
    {
        await using var dataSource = await MigratedDatabaseAsync();
        var original = SecretKey.FromBase64(CollidingKeyA);
        var other = SecretKey.FromBase64(CollidingKeyB);
        other.KeyId.ShouldBe(original.KeyId);
        other.Matches(original).ShouldBeFalse();
        other.CheckValue.ShouldNotBe(original.CheckValue);
        await SecretKeyVerification.VerifyOrRecordAsync(dataSource, original, default);

        var refused = await Should.ThrowAsync<SecretKeyException>(() => SecretKeyVerification.VerifyOrRecordAsync(dataSource, other, default));

        refused.Message.ShouldContain($"a different secret key that happens to have the same id {original.KeyId}");
        (await StoredAsync(dataSource)).ShouldBe((original.KeyId, original.CheckValue));
        await SecretKeyVerification.VerifyOrRecordAsync(dataSource, original, default);
    }

    [Fact]
    public async Task A_record_with_the_keys_id_but_another_check_value_refuses_the_key()
    {
        await using var dataSource = await MigratedDatabaseAsync();
        var key = SecretKey.Generate();
        await using (var tamper = dataSource.CreateCommand("INSERT INTO instance_secret_key (key_id, check_value) VALUES ($1, $2)"))
        {
            tamper.Parameters.Add(new NpgsqlParameter { Value = key.KeyId });
            tamper.Parameters.Add(new NpgsqlParameter { Value = SecretKey.Generate().CheckValue });
            await tamper.ExecuteNonQueryAsync();
        }

        await Should.ThrowAsync<SecretKeyException>(() => SecretKeyVerification.VerifyOrRecordAsync(dataSource, key, default));
    }

    [Fact]
    public async Task A_record_with_the_keys_check_value_but_another_id_refuses_the_key()
    {
        await using var dataSource = await MigratedDatabaseAsync();
        var key = SecretKey.Generate();
        await using (var tamper = dataSource.CreateCommand("INSERT INTO instance_secret_key (key_id, check_value) VALUES ($1, $2)"))
        {
            tamper.Parameters.Add(new NpgsqlParameter { Value = "00000000" });
            tamper.Parameters.Add(new NpgsqlParameter { Value = key.CheckValue });
            await tamper.ExecuteNonQueryAsync();
        }

        await Should.ThrowAsync<SecretKeyException>(() => SecretKeyVerification.VerifyOrRecordAsync(dataSource, key, default));
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

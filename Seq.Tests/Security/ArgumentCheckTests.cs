using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Security;

/// <summary>
/// The security components refuse a missing argument or a setting out of range at once, naming it, before they touch
/// a key, a file or the database: a misconfiguration is a clear error at start-up, not a fault in the middle of a login.
/// </summary>
public sealed class ArgumentCheckTests : IDisposable
{
    // Never opened by a check that works: a refused argument must be refused before any connection is made.
    readonly NpgsqlDataSource _nowhere = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Timeout=2");
    readonly SecretKey _key = SecretKey.Generate();
    readonly string _root = TestDirectories.NewPath("argument-checks");

    static void Refused(Action action, string parameter)
    {
        var refused = Should.Throw<Exception>(action);
        refused.ShouldBeAssignableTo<ArgumentException>()!.ParamName.ShouldBe(parameter);
    }

    static async Task RefusedAsync(Func<Task> action, string parameter)
    {
        var refused = await Should.ThrowAsync<Exception>(action);
        refused.ShouldBeAssignableTo<ArgumentException>()!.ParamName.ShouldBe(parameter);
    }

    [Fact]
    public void The_login_throttle_refuses_missing_parts_and_settings_out_of_range()
    {
        var options = new LoginThrottleOptions();
        Refused(() => new LoginThrottle(null!, TimeProvider.System, options), "dataSource");
        Refused(() => new LoginThrottle(_nowhere, null!, options), "clock");
        Refused(() => new LoginThrottle(_nowhere, TimeProvider.System, null!), "options");
        Refused(() => new LoginThrottle(_nowhere, TimeProvider.System, options with { AccountFreeFailures = -1 }), "options.AccountFreeFailures");
        Refused(() => new LoginThrottle(_nowhere, TimeProvider.System, options with { AddressFreeFailures = -1 }), "options.AddressFreeFailures");
        Refused(() => new LoginThrottle(_nowhere, TimeProvider.System, options with { MaximumBlock = TimeSpan.Zero }), "MaximumBlock");
        Refused(() => new LoginThrottle(_nowhere, TimeProvider.System, options with { ForgetAfter = TimeSpan.Zero }), "ForgetAfter");
        _ = new LoginThrottle(_nowhere, TimeProvider.System, options with { AccountFreeFailures = 0, AddressFreeFailures = 0, MaximumBlock = TimeSpan.FromTicks(1), ForgetAfter = TimeSpan.FromTicks(1) });
    }

    [Fact]
    public async Task The_login_throttle_refuses_a_missing_username_before_reaching_the_database()
    {
        var throttle = new LoginThrottle(_nowhere, TimeProvider.System, new LoginThrottleOptions());

        await RefusedAsync(() => throttle.ReserveAttemptAsync(null!, "127.0.0.1", default), "username");
        await RefusedAsync(() => throttle.RecordSuccessAsync(null!, null, default), "username");
    }

    [Fact]
    public async Task Sessions_refuse_missing_parts_lifetimes_that_are_not_positive_and_a_missing_user()
    {
        var options = SessionOptions.Default;
        Refused(() => new PostgresSessions(null!, _key, TimeProvider.System, options), "dataSource");
        Refused(() => new PostgresSessions(_nowhere, null!, TimeProvider.System, options), "secretKey");
        Refused(() => new PostgresSessions(_nowhere, _key, null!, options), "clock");
        Refused(() => new PostgresSessions(_nowhere, _key, TimeProvider.System, null!), "options");
        Refused(() => new PostgresSessions(_nowhere, _key, TimeProvider.System, options with { IdleTimeout = TimeSpan.Zero }), "IdleTimeout");
        Refused(() => new PostgresSessions(_nowhere, _key, TimeProvider.System, options with { AbsoluteLifetime = TimeSpan.Zero }), "AbsoluteLifetime");

        var sessions = new PostgresSessions(_nowhere, _key, TimeProvider.System, options);
        await RefusedAsync(() => sessions.StartAsync(null!, 1, default), "userId");
        await RefusedAsync(() => sessions.StartAsync("", 1, default), "userId");
    }

    [Fact]
    public void The_password_hasher_refuses_an_iteration_count_out_of_range_and_a_missing_password()
    {
        Refused(() => new PasswordHasher(0), "iterations");
        Refused(() => new PasswordHasher(10_000_001), "iterations");

        var hasher = new PasswordHasher(1);
        var hash = hasher.Hash("a password");
        Refused(() => hasher.Hash(null!), "password");
        Refused(() => hasher.Verify(null!, hash), "password");
        Refused(() => hasher.VerifyDummy(null!), "password");
    }

    [Fact]
    public void The_hashing_pool_refuses_a_missing_hasher_no_threads_no_queue_and_a_missing_password_before_queueing_it()
    {
        var hasher = new PasswordHasher(1);
        Refused(() => new PasswordHashingPool(null!, 1, 1), "hasher");
        Refused(() => new PasswordHashingPool(hasher, 0, 1), "threads");
        Refused(() => new PasswordHashingPool(hasher, 1, 0), "queueCapacity");

        using var pool = new PasswordHashingPool(hasher, 1, 1);
        // Thrown by the call itself, not by a queued task that fails later on a hashing thread.
        Refused(() => _ = pool.HashAsync(null!, default), "password");
        Refused(() => _ = pool.VerifyAsync(null!, null, default), "password");
    }

    [Fact]
    public void The_secret_key_refuses_a_missing_text_purpose_or_key_to_compare()
    {
        Refused(() => SecretKey.FromBase64(null!), "text");
        Refused(() => _key.DeriveSubkey(null!), "purpose");
        Refused(() => _key.DeriveSubkey(""), "purpose");
        Refused(() => _key.Matches(null!), "other");
    }

    [Fact]
    public void The_secret_protector_refuses_a_missing_value_or_key_and_the_purposes_reserved_for_the_key_itself()
    {
        var protector = new AesGcmSecretProtector(_key);
        Refused(() => protector.Protect(null!, "purpose"), "plaintext");
        Refused(() => protector.Unprotect(null!, "purpose"), "protectedValue");
        Refused(() => AesGcmSecretProtector.ProtectBytes(null!, [1], "purpose"), "key");
        Refused(() => AesGcmSecretProtector.UnprotectBytes(null!, [1], "purpose"), "key");

        foreach (var reserved in new[] { SecretKey.KeyIdPurpose, SecretKey.KeyCheckPurpose })
        {
            var refused = Should.Throw<ArgumentException>(() => protector.Protect("value", reserved));
            refused.Message.ShouldStartWith($"The purpose {reserved} is reserved for the secret key itself.");
            refused.ParamName.ShouldBe("purpose");
        }
    }

    [Fact]
    public async Task Loading_the_secret_key_refuses_a_missing_storage_root_options_or_log_and_writes_nothing()
    {
        var options = new SecretKeyOptions(null, null, null, TimeSpan.FromSeconds(5));
        await RefusedAsync(() => SecretKeyLoader.LoadAsync(" ", options, NullLogger.Instance, default), "storageRoot");
        await RefusedAsync(() => SecretKeyLoader.LoadAsync(_root, null!, NullLogger.Instance, default), "options");
        await RefusedAsync(() => SecretKeyLoader.LoadAsync(_root, options, null!, default), "logger");
        Directory.Exists(_root).ShouldBeFalse();

        Refused(() => SecretKeyOptions.FromSettings(null!), "get");
        await RefusedAsync(() => SecretKeyVerification.VerifyOrRecordAsync(null!, _key, default), "dataSource");
        await RefusedAsync(() => SecretKeyVerification.VerifyOrRecordAsync(_nowhere, null!, default), "key");
    }

    public void Dispose()
    {
        _nowhere.Dispose();
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}

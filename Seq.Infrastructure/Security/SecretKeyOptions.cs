namespace Seq.Infrastructure.Security;

/// <summary>Where the secret key comes from: a value given at first start, or a program that prints it.</summary>
public sealed record SecretKeyOptions(string? ConfiguredKey, string? ProviderPath, string? ProviderArguments, TimeSpan ProviderTimeout)
{
    public const string SecretKeySetting = "SEQ_STORAGE_SECRETKEY";
    public const string ProviderSetting = "SEQ_SECRETKEY_PROVIDER";
    public const string ProviderArgumentsSetting = "SEQ_SECRETKEY_PROVIDERARGS";

    public static readonly TimeSpan DefaultProviderTimeout = TimeSpan.FromSeconds(30);

    public static SecretKeyOptions FromSettings(Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        return new SecretKeyOptions(
            NonBlank(get(SecretKeySetting)),
            NonBlank(get(ProviderSetting)),
            NonBlank(get(ProviderArgumentsSetting)),
            DefaultProviderTimeout);
    }

    // The generated ToString would print the key, and provider arguments may carry a credential for a vault.
    public override string ToString() =>
        $"SecretKeyOptions {{ ConfiguredKey = {Redacted(ConfiguredKey)}, ProviderPath = {ProviderPath ?? "null"}, " +
        $"ProviderArguments = {Redacted(ProviderArguments)}, ProviderTimeout = {ProviderTimeout} }}";

    static string Redacted(string? value) => value is null ? "null" : "********";

    static string? NonBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Configuration;

/// <summary>
/// The host settings: an environment variable <c>SEQ_SECTION_KEY</c> wins over the file <c>Seq.json</c> under the
/// storage root, which holds <c>{ "section": { "key": value } }</c>. Secret settings are kept in the file encrypted
/// under the instance's secret key.
/// </summary>
public sealed partial class HostConfiguration
{
    public const string FileName = "Seq.json";
    public const string SecretShown = "(secret, set)";

    readonly Func<string, string?> _getEnvironmentVariable;
    readonly ISecretProtector? _protector;

    // Canonical key to the value as the file holds it: normalized text, or the protector's output for a secret.
    readonly Dictionary<string, string> _stored;

    HostConfiguration(string filePath, Dictionary<string, string> stored, Func<string, string?> getEnvironmentVariable, ISecretProtector? protector)
    {
        FilePath = filePath;
        _stored = stored;
        _getEnvironmentVariable = getEnvironmentVariable;
        _protector = protector;
    }

    public string FilePath { get; }

    /// <summary>
    /// Reads <c>Seq.json</c> under <paramref name="storageRoot"/> if there is one. Without a <paramref name="protector"/>
    /// everything but the secret settings can be read, which is what it takes to find the secret key in the first place.
    /// </summary>
    /// <exception cref="HostConfigurationException">The file is not JSON, or holds an unknown key or a malformed value.</exception>
    public static HostConfiguration Load(string storageRoot, Func<string, string?> getEnvironmentVariable, ISecretProtector? protector = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(storageRoot);
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);

        var filePath = Path.Combine(storageRoot, FileName);
        return new HostConfiguration(filePath, ReadFile(filePath), getEnvironmentVariable, protector);
    }

    /// <summary>The same settings, able to read and write the secret ones.</summary>
    public HostConfiguration WithProtector(ISecretProtector protector)
    {
        ArgumentNullException.ThrowIfNull(protector);
        return new HostConfiguration(FilePath, new Dictionary<string, string>(_stored), _getEnvironmentVariable, protector);
    }

    /// <summary>The value of <paramref name="key"/> in canonical form (a list of URIs is joined with commas), or null when it is not set.</summary>
    /// <exception cref="HostConfigurationException">
    /// The key is unknown, the environment variable holds a malformed value, or a secret cannot be decrypted.
    /// </exception>
    public string? Get(string key)
    {
        var setting = HostSettingCatalogue.Find(key);
        var fromEnvironment = FromEnvironment(setting);
        if (fromEnvironment is not null)
        {
            if (!setting.TryNormalize(fromEnvironment, out var normalized, out var problem))
                throw new HostConfigurationException($"{setting.EnvironmentVariable}: {problem}");
            return normalized;
        }

        if (!_stored.TryGetValue(setting.Key, out var stored))
            return null;

        if (!setting.IsSecret)
            return stored;

        // Checked again once decrypted: a value stored before it was validated must not reach the server.
        if (!setting.TryNormalize(Decrypt(setting, stored), out var secret, out var secretProblem))
            throw new HostConfigurationException($"{FilePath}: {secretProblem} Store it again with `seqsvr secret set -k {setting.Key}`.");
        return secret;
    }

    /// <summary>
    /// Reads every setting that can be read without the secret key (all but the secrets kept in the file), so a
    /// malformed one stops a start before anything is created.
    /// </summary>
    /// <exception cref="HostConfigurationException">The first malformed setting.</exception>
    public void Validate()
    {
        foreach (var setting in HostSettingCatalogue.All)
        {
            if (setting.IsSecret && FromEnvironment(setting) is null)
                continue;
            if (Get(setting.Key) is { } value && setting.ProblemOnThisMachine(value) is { } problem)
                throw new HostConfigurationException(
                    $"{(FromEnvironment(setting) is null ? FilePath : setting.EnvironmentVariable)}: {problem}");
        }
    }

    /// <summary>
    /// Looks a setting up by its environment variable's name, for code that is written against the environment
    /// (<c>SEQ_AUDIT_AUDITPATH</c> finds the variable, else <c>audit.auditPath</c> in the file). A name that is not a
    /// host setting, such as <c>SEQ_STORAGE_SECRETKEY</c>, is read from the environment only.
    /// </summary>
    public string? EnvironmentAndFile(string environmentVariableName)
    {
        ArgumentException.ThrowIfNullOrEmpty(environmentVariableName);
        var setting = HostSettingCatalogue.FindByEnvironmentVariable(environmentVariableName);
        return setting is null ? NonBlank(_getEnvironmentVariable(environmentVariableName)) : Get(setting.Key);
    }

    /// <summary>The environment variable that overrides <paramref name="key"/> right now, if one does.</summary>
    public string? OverridingEnvironmentVariable(string key)
    {
        var setting = HostSettingCatalogue.Find(key);
        return FromEnvironment(setting) is null ? null : setting.EnvironmentVariable;
    }

    /// <summary>Every known setting with its value and where it comes from. A secret value is never shown.</summary>
    public IReadOnlyList<(string Key, string? Value, string Source)> List()
    {
        var listed = new List<(string Key, string? Value, string Source)>();
        foreach (var setting in HostSettingCatalogue.All)
        {
            var fromEnvironment = FromEnvironment(setting);
            if (fromEnvironment is not null)
                listed.Add((setting.Key, setting.IsHiddenInListings ? SecretShown : fromEnvironment, setting.EnvironmentVariable));
            else if (_stored.TryGetValue(setting.Key, out var stored))
                listed.Add((setting.Key, setting.IsHiddenInListings ? SecretShown : stored, FileName));
            else
                listed.Add((setting.Key, null, "not set"));
        }
        return listed;
    }

    /// <summary>Stores a setting that is not secret in the file.</summary>
    /// <exception cref="HostConfigurationException">The key is unknown or secret, or the value is malformed.</exception>
    public void Set(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var setting = HostSettingCatalogue.Find(key);
        if (setting.IsSecret)
            throw new HostConfigurationException(
                $"{setting.Key} is a secret: store it encrypted with `seqsvr secret set -k {setting.Key} -v VALUE`.");

        if (!setting.TryNormalize(value, out var normalized, out var problem))
            throw new HostConfigurationException(problem!);
        if (setting.ProblemOnThisMachine(normalized) is { } unusable)
            throw new HostConfigurationException(unusable);

        Store(setting, normalized);
    }

    /// <summary>Stores a secret setting in the file, encrypted under the secret key.</summary>
    /// <exception cref="HostConfigurationException">The key is unknown or not secret, or the value is empty.</exception>
    public void SetSecret(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var setting = HostSettingCatalogue.Find(key);
        if (!setting.IsSecret)
            throw new HostConfigurationException(
                $"{setting.Key} is not a secret: store it with `seqsvr config set -k {setting.Key} -v VALUE`.");

        if (!setting.TryNormalize(value, out var normalized, out var problem))
            throw new HostConfigurationException(problem!);

        var protector = _protector ?? throw new InvalidOperationException("Storing a secret setting needs the secret key's protector.");
        Store(setting, protector.Protect(normalized, PurposeFor(setting)));
    }

    /// <summary>Removes a setting from the file; false when it was not there.</summary>
    /// <exception cref="HostConfigurationException">The key is unknown, or the file could not be saved.</exception>
    public bool Clear(string key)
    {
        var setting = HostSettingCatalogue.Find(key);
        using var held = LockAndReload();
        if (!_stored.Remove(setting.Key, out var previous))
            return false;

        try
        {
            Write();
        }
        catch (HostConfigurationException)
        {
            _stored[setting.Key] = previous;
            throw;
        }
        return true;
    }

    void Store(HostSetting setting, string stored)
    {
        using var held = LockAndReload();
        var hadPrevious = _stored.TryGetValue(setting.Key, out var previous);
        _stored[setting.Key] = stored;
        try
        {
            Write();
        }
        catch (HostConfigurationException)
        {
            // What this instance reports stays what the file holds.
            if (hadPrevious)
                _stored[setting.Key] = previous!;
            else
                _stored.Remove(setting.Key);
            throw;
        }
    }

    // Each secret setting has its own subkey, so a protected value copied from one setting into another in
    // Seq.json fails to decrypt instead of silently becoming, say, the audit server's API key.
    static string PurposeFor(HostSetting setting) => $"{SecretPurposes.HostConfiguration}/{setting.Key}";

    string? FromEnvironment(HostSetting setting) => NonBlank(_getEnvironmentVariable(setting.EnvironmentVariable));

    string Decrypt(HostSetting setting, string stored)
    {
        if (_protector is null)
            throw new HostConfigurationException($"{setting.Key} is stored encrypted in {FilePath} and can only be read with the secret key.");

        try
        {
            return _protector.Unprotect(stored, PurposeFor(setting));
        }
        catch (SecretProtectionException e)
        {
            throw new HostConfigurationException(
                $"{setting.Key} in {FilePath} cannot be decrypted with this instance's secret key: it was stored under " +
                $"another secret key, or altered ({e.Message}). Store it again with `seqsvr secret set -k {setting.Key}`.");
        }
    }

    static string? NonBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

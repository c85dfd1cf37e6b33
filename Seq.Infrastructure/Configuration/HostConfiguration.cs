using System.Text.Encodings.Web;
using System.Text.Json;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

using Seq.Infrastructure.Storage;

namespace Seq.Infrastructure.Configuration;

/// <summary>A host setting is unknown, malformed, or cannot be read. The message is safe to print: it never holds a secret value.</summary>
public sealed class HostConfigurationException(string message) : Exception(message);

/// <summary>
/// The host settings: an environment variable <c>SEQ_SECTION_KEY</c> wins over the file <c>Seq.json</c> under the
/// storage root, which holds <c>{ "section": { "key": value } }</c>. Secret settings are kept in the file encrypted
/// under the instance's secret key.
/// </summary>
public sealed class HostConfiguration
{
    public const string FileName = "Seq.json";
    public const string SecretShown = "(secret, set)";

    const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    // The file is for people to read and edit, never embedded in HTML, so '+' or '&' in a URI need not be escaped.
    static readonly JsonWriterOptions WriteOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    static readonly JsonDocumentOptions ReadOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

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

    // Another process may have changed the file since this instance read it: the change is made to what the file
    // holds now, under a lock, so that two concurrent changes of different keys both survive.
    IDisposable LockAndReload()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        IDisposable held;
        try
        {
            held = ConfigurationFileLock.Acquire(FilePath);
        }
        catch (IOException e)
        {
            throw new HostConfigurationException($"The setting was not saved: {e.Message}");
        }

        try
        {
            var current = ReadFile(FilePath);
            _stored.Clear();
            foreach (var (key, value) in current)
                _stored[key] = value;
            return held;
        }
        catch
        {
            held.Dispose();
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

    static Dictionary<string, string> ReadFile(string filePath)
    {
        var stored = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(filePath))
            return stored;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(filePath), ReadOptions);
        }
        catch (JsonException e)
        {
            throw new HostConfigurationException($"{filePath} is not valid JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new HostConfigurationException($"{filePath} must hold a JSON object of sections, such as {{ \"audit\": {{ \"auditPath\": \"/data/Audit\" }} }}.");

            foreach (var section in document.RootElement.EnumerateObject())
            {
                if (section.Value.ValueKind != JsonValueKind.Object)
                    throw new HostConfigurationException($"{filePath}: '{section.Name}' must be a JSON object of settings.");

                foreach (var property in section.Value.EnumerateObject())
                {
                    var key = $"{section.Name}.{property.Name}";
                    if (!HostSettingCatalogue.TryFind(key, out var setting))
                        throw new HostConfigurationException($"{filePath}: there is no setting '{key}'; remove it from the file.");
                    if (property.Value.ValueKind == JsonValueKind.Null)
                        continue;
                    if (!stored.TryAdd(setting.Key, ReadValue(filePath, setting, property.Value)))
                        throw new HostConfigurationException($"{filePath}: {setting.Key} appears more than once.");
                }
            }
        }

        return stored;
    }

    static string ReadValue(string filePath, HostSetting setting, JsonElement value)
    {
        if (setting.IsSecret)
        {
            if (value.ValueKind != JsonValueKind.String || value.GetString()!.StartsWith(AesGcmSecretProtector.Prefix, StringComparison.Ordinal) is false)
                throw new HostConfigurationException(
                    $"{filePath}: {setting.Key} is a secret but is not stored encrypted; remove it from the file and store it with `seqsvr secret set -k {setting.Key}`.");
            return value.GetString()!;
        }

        var text = (setting.Kind, value.ValueKind) switch
        {
            (_, JsonValueKind.String) => value.GetString(),
            (HostSettingKind.UriList, JsonValueKind.Array) when value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                string.Join(",", value.EnumerateArray().Select(e => e.GetString())),
            (HostSettingKind.Boolean, JsonValueKind.True or JsonValueKind.False) => value.GetBoolean() ? "true" : "false",
            (HostSettingKind.Integer, JsonValueKind.Number) => value.GetRawText(),
            _ => null,
        };

        if (text is null)
            throw new HostConfigurationException($"{filePath}: {setting.Key} holds a JSON {value.ValueKind} where a {Describe(setting.Kind)} belongs.");
        if (!setting.TryNormalize(text, out var normalized, out var problem))
            throw new HostConfigurationException($"{filePath}: {problem}");
        return normalized;
    }

    static string Describe(HostSettingKind kind) => kind switch
    {
        HostSettingKind.UriList => "string or an array of strings",
        HostSettingKind.Boolean => "true or false",
        HostSettingKind.Integer => "number",
        _ => "string",
    };

    // Temp file, fsync, rename, directory fsync: a crash leaves either the old file or the new one, never half of one,
    // and a failed fsync leaves the old file in place and says so.
    void Write()
    {
        // The file is owner-only, not the storage root: run as root, the private PostgreSQL cluster below it runs
        // as the 'postgres' user, which has to traverse it.
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        try
        {
            DurableFile.Replace(FilePath, OwnerOnlyFile, stream =>
            {
                using (var writer = new Utf8JsonWriter(stream, WriteOptions))
                    WriteJson(writer);
                stream.Write("\n"u8);
            });
        }
        catch (IOException e)
        {
            throw new HostConfigurationException($"The setting was not saved: {e.Message}");
        }
    }

    void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var section in HostSettingCatalogue.All.Where(s => _stored.ContainsKey(s.Key)).GroupBy(s => s.Section))
        {
            writer.WriteStartObject(section.Key);
            foreach (var setting in section)
            {
                var stored = _stored[setting.Key];
                switch (setting.Kind)
                {
                    case HostSettingKind.UriList when !setting.IsSecret:
                        writer.WriteStartArray(setting.Name);
                        foreach (var uri in stored.Split(','))
                            writer.WriteStringValue(uri);
                        writer.WriteEndArray();
                        break;
                    case HostSettingKind.Boolean when !setting.IsSecret:
                        writer.WriteBoolean(setting.Name, stored == "true");
                        break;
                    case HostSettingKind.Integer when !setting.IsSecret:
                        writer.WriteNumber(setting.Name, long.Parse(stored, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    default:
                        writer.WriteString(setting.Name, stored);
                        break;
                }
            }
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    static string? NonBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

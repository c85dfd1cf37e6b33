using System.Text.Encodings.Web;
using System.Text.Json;
using Seq.Infrastructure.Security;
using Seq.Infrastructure.Storage;

namespace Seq.Infrastructure.Configuration;

// The file Seq.json: how it is read, checked, locked while it changes, and written.
public sealed partial class HostConfiguration
{
    const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    // The file is for people to read and edit, never embedded in HTML, so '+' or '&' in a URI need not be escaped.
    static readonly JsonWriterOptions WriteOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    static readonly JsonDocumentOptions ReadOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

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
}

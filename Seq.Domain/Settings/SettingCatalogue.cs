namespace Seq.Domain.Settings;

/// <summary>The instance settings this server knows, by Seq's names.</summary>
public static class SettingCatalogue
{
    public static readonly SettingDefinition InstanceTitle = SettingDefinition.Text(
        "InstanceTitle", "", 100, "A title shown to users to tell this instance apart from others.");

    public static readonly SettingDefinition BackupsToKeep = SettingDefinition.Integer(
        "BackupsToKeep", 7, 1, 365, "How many daily metadata backups are retained.");

    public static readonly SettingDefinition BackupUtcTimeOfDay = SettingDefinition.TimeOfDay(
        "BackupUtcTimeOfDay", "02:00:00", "The time of day (UTC) at which the daily backup is made.");

    public static readonly SettingDefinition RequireApiKeyForWritingEvents = SettingDefinition.Boolean(
        "RequireApiKeyForWritingEvents", true, "Whether ingestion requires an API key with the Ingest permission.");

    public static readonly SettingDefinition RawPayloadMaximumContentLength = SettingDefinition.Integer(
        "RawPayloadMaximumContentLength", 10 * 1024 * 1024, 1024, 256L * 1024 * 1024, "The largest ingestion request body accepted, in bytes.");

    public static readonly SettingDefinition RawEventMaximumContentLength = SettingDefinition.Integer(
        "RawEventMaximumContentLength", 256 * 1024, 1024, 64L * 1024 * 1024, "The largest single ingested event (one CLEF line) accepted, in bytes.");

    public static readonly SettingDefinition EventRetentionDays = SettingDefinition.Integer(
        "EventRetentionDays", 0, 0, 36500, "How many days of log events are kept (whole UTC days, oldest dropped first); 0 keeps them forever.");

    public static readonly SettingDefinition MinimumPasswordLength = SettingDefinition.Integer(
        "MinimumPasswordLength", 8, 8, 128, "The shortest password a user may choose.");

    public static IReadOnlyList<SettingDefinition> All { get; } =
    [
        InstanceTitle, BackupsToKeep, BackupUtcTimeOfDay, RequireApiKeyForWritingEvents,
        RawPayloadMaximumContentLength, MinimumPasswordLength,
        RawEventMaximumContentLength, EventRetentionDays,
    ];

    /// <summary>Seq's read-only setting that reports whether the first start chose authentication; not stored here.</summary>
    public const string IsAuthenticationEnabled = "IsAuthenticationEnabled";

    static readonly Dictionary<string, SettingDefinition> ByName =
        All.ToDictionary(d => d.Name, StringComparer.OrdinalIgnoreCase);

    public static SettingDefinition? Find(string name) => ByName.GetValueOrDefault(name);
}

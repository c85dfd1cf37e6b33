using System.Globalization;

namespace Seq.Infrastructure.Events;

/// <summary>
/// An event's public id, <c>event-</c> then its timestamp (microseconds since 0001-01-01 UTC) and its ingestion
/// number, 16 hexadecimal digits each: the id alone finds the day partition and the place in the search order.
/// </summary>
public static class LogEventIds
{
    const string Prefix = "event-";

    public static string Format(DateTimeOffset timestamp, long id) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{timestamp.UtcTicks / 10:x16}{id:x16}");

    public static bool TryParse(string? text, out DateTimeOffset timestamp, out long id)
    {
        timestamp = default;
        id = 0;
        if (text is null || text.Length != Prefix.Length + 32 || !text.StartsWith(Prefix, StringComparison.Ordinal))
            return false;
        if (!long.TryParse(text.AsSpan(Prefix.Length, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var micros)
            || !long.TryParse(text.AsSpan(Prefix.Length + 16, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out id))
            return false;
        if (micros < 0 || micros > DateTimeOffset.MaxValue.UtcTicks / 10 || id < 0)
            return false;
        timestamp = new DateTimeOffset(micros * 10, TimeSpan.Zero);
        return true;
    }
}

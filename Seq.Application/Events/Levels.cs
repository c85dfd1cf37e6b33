namespace Seq.Application.Events;

/// <summary>Serilog's level names, and the common abbreviations other loggers send in <c>@l</c>.</summary>
public static class Levels
{
    public const string Information = "Information";

    static readonly string[] Ordered = ["Verbose", "Debug", "Information", "Warning", "Error", "Fatal"];

    static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["verbose"] = "Verbose", ["trace"] = "Verbose", ["vrb"] = "Verbose", ["trc"] = "Verbose",
        ["debug"] = "Debug", ["dbg"] = "Debug",
        ["information"] = "Information", ["info"] = "Information", ["inf"] = "Information",
        ["warning"] = "Warning", ["warn"] = "Warning", ["wrn"] = "Warning",
        ["error"] = "Error", ["err"] = "Error", ["eror"] = "Error",
        ["fatal"] = "Fatal", ["ftl"] = "Fatal", ["critical"] = "Fatal", ["crit"] = "Fatal",
    };

    /// <summary>Serilog's name for <paramref name="level"/>, or null when it names none (it is then kept as sent).</summary>
    public static string? Canonical(string? level) => level is not null && Aliases.TryGetValue(level.Trim(), out var name) ? name : null;

    /// <summary>The rank of a level (Verbose 0 … Fatal 5); a level that is not Serilog's ranks as Information, as Seq treats it.</summary>
    public static int Rank(string level) => Array.IndexOf(Ordered, Canonical(level) ?? Information);
}

namespace Seq.Infrastructure.Postgres;

/// <summary>Where the server keeps its private PostgreSQL cluster and everything else it stores on disk.</summary>
public static class StorageRoot
{
    public const string EnvironmentVariable = "SEQ_STORAGE_ROOTPATH";

    /// <summary>
    /// The <c>--storage</c> value if given, else <c>SEQ_STORAGE_ROOTPATH</c>, else <c>/var/lib/seq</c> for root and
    /// <c>$XDG_DATA_HOME/seq</c> (or <c>~/.local/share/seq</c>) for anyone else; always a full path.
    /// </summary>
    public static string Resolve(string? commandLineValue, Func<string, string?> getEnvironmentVariable) =>
        Resolve(commandLineValue, getEnvironmentVariable, Environment.IsPrivilegedProcess);

    internal static string Resolve(string? commandLineValue, Func<string, string?> getEnvironmentVariable, bool runningAsRoot)
    {
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);

        var chosen = NonBlank(commandLineValue)
            ?? NonBlank(getEnvironmentVariable(EnvironmentVariable))
            ?? Default(getEnvironmentVariable, runningAsRoot);

        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(ExpandHome(chosen, getEnvironmentVariable)));
    }

    static string Default(Func<string, string?> getEnvironmentVariable, bool runningAsRoot)
    {
        if (runningAsRoot)
            return "/var/lib/seq";

        // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
        var dataHome = NonBlank(getEnvironmentVariable("XDG_DATA_HOME"));
        if (dataHome is not null && Path.IsPathFullyQualified(dataHome))
            return Path.Combine(dataHome, "seq");

        return Path.Combine(Home(getEnvironmentVariable), ".local", "share", "seq");
    }

    // A value from a service unit or .env file reaches us without a shell to expand "~".
    static string ExpandHome(string path, Func<string, string?> getEnvironmentVariable)
    {
        if (path == "~")
            return Home(getEnvironmentVariable);
        if (path.StartsWith("~/", StringComparison.Ordinal))
            return Path.Combine(Home(getEnvironmentVariable), path[2..]);
        return path;
    }

    static string Home(Func<string, string?> getEnvironmentVariable) =>
        NonBlank(getEnvironmentVariable("HOME")) ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    static string? NonBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

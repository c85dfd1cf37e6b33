namespace Seq.Infrastructure.Postgres;

/// <summary>The PostgreSQL server programs that a private cluster is initialized and run with.</summary>
public sealed class PostgresBinaries(string initDb, string pgCtl, string postgres)
{
    /// <summary>Where distributions install each major version, as <c>{root}/{version}/bin</c>.</summary>
    public static IReadOnlyList<string> DefaultSearchRoots { get; } = ["/usr/lib/postgresql"];

    public string InitDb { get; } = initDb;
    public string PgCtl { get; } = pgCtl;
    public string Postgres { get; } = postgres;

    /// <summary>
    /// The first directory on <paramref name="pathVariable"/> that holds <c>initdb</c> and <c>pg_ctl</c>, else the
    /// highest version under the search roots.
    /// </summary>
    /// <param name="pathVariable">A PATH-style list; <c>null</c> reads the process's PATH.</param>
    /// <param name="extraSearchRoots">Roots to search after PATH; <c>null</c> means <see cref="DefaultSearchRoots"/>.</param>
    /// <exception cref="PostgresBinariesNotFoundException">Nothing usable was found.</exception>
    public static PostgresBinaries Locate(string? pathVariable = null, IEnumerable<string>? extraSearchRoots = null)
    {
        pathVariable ??= Environment.GetEnvironmentVariable("PATH") ?? "";
        var roots = (extraSearchRoots ?? DefaultSearchRoots).ToList();

        var onPath = pathVariable
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(Path.IsPathFullyQualified);

        var underRoots = roots
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories)
            .Select(versionDirectory => (Version: ParseVersion(Path.GetFileName(versionDirectory)), Bin: Path.Combine(versionDirectory, "bin")))
            .Where(candidate => candidate.Version is not null)
            .OrderByDescending(candidate => candidate.Version!, VersionComparer.Instance)
            .Select(candidate => candidate.Bin);

        foreach (var directory in onPath.Concat(underRoots))
        {
            if (TryUse(directory) is { } binaries)
                return binaries;
        }

        var searched = roots.Count == 0 ? "" : $" or under {string.Join(", ", roots.Select(root => $"{root}/*/bin"))}";
        throw new PostgresBinariesNotFoundException(
            $"The PostgreSQL server programs (initdb, pg_ctl and postgres) were not found on PATH{searched}, so the private " +
            "PostgreSQL cluster cannot be started. Install them (on Debian or Ubuntu: `apt-get install -y postgresql`), " +
            "or point the server at an existing PostgreSQL server by setting SEQ_STORAGE_CONNECTIONSTRING.");
    }

    static PostgresBinaries? TryUse(string directory)
    {
        var initDb = Path.Combine(directory, "initdb");
        var pgCtl = Path.Combine(directory, "pg_ctl");
        if (!IsExecutable(initDb) || !IsExecutable(pgCtl))
            return null;

        // PATH often holds symlinks to the versioned bin directory, with postgres left behind next to the real pg_ctl.
        var postgres = Path.Combine(directory, "postgres");
        if (!IsExecutable(postgres) && ResolvedDirectory(pgCtl) is { } realDirectory)
            postgres = Path.Combine(realDirectory, "postgres");

        return IsExecutable(postgres) ? new PostgresBinaries(initDb, pgCtl, postgres) : null;
    }

    static bool IsExecutable(string path)
    {
        if (OperatingSystem.IsWindows())
            return File.Exists(path);

        try
        {
            const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            return File.Exists(path) && (File.GetUnixFileMode(path) & anyExecute) != 0;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    static string? ResolvedDirectory(string path)
    {
        try
        {
            var target = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true);
            return target is null ? null : Path.GetDirectoryName(target.FullName);
        }
        catch (IOException)
        {
            return null;
        }
    }

    static int[]? ParseVersion(string name)
    {
        var parts = name.Split('.');
        var numbers = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out numbers[i]))
                return null;
        }
        return numbers;
    }

    sealed class VersionComparer : IComparer<int[]>
    {
        public static readonly VersionComparer Instance = new();

        public int Compare(int[]? x, int[]? y)
        {
            x ??= [];
            y ??= [];
            for (var i = 0; i < Math.Min(x.Length, y.Length); i++)
            {
                if (x[i] != y[i])
                    return x[i].CompareTo(y[i]);
            }
            return x.Length.CompareTo(y.Length);
        }
    }
}

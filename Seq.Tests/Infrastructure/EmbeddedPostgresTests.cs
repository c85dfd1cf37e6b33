using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Seq.Infrastructure.Postgres;
using Seq.Tests.Support;

namespace Seq.Tests.Infrastructure;

// The private cluster runs PostgreSQL's own binaries and Unix sockets; on Windows the server needs SEQ_STORAGE_CONNECTIONSTRING.
[UnsupportedOSPlatform("windows")]
public sealed class EmbeddedPostgresTests : IAsyncLifetime
{
    const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    const UnixFileMode OwnerOnly = OwnerReadWrite | UnixFileMode.UserExecute;

    readonly string _storageRoot = TestDirectories.NewPath("embedded");
    readonly List<EmbeddedPostgres> _clusters = [];
    readonly List<string> _directoriesToDelete = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var cluster in _clusters)
            await cluster.StopAsync();
        foreach (var directory in _directoriesToDelete.Append(_storageRoot).Where(Directory.Exists))
            Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_new_storage_root_gets_a_cluster_that_keeps_its_data_across_restarts()
    {
        var first = await StartAsync();
        await ExecuteAsync(first.ConnectionString, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')");
        await first.StopAsync();

        var second = await StartAsync();

        (await ScalarAsync(second.ConnectionString, "SELECT body FROM notes")).ShouldBe("kept");
        File.GetUnixFileMode(Path.Combine(_storageRoot, "PostgreSQL", "password")).ShouldBe(OwnerReadWrite);
        File.GetUnixFileMode(second.SocketDirectory).ShouldBe(OwnerOnly);
        (await ScalarAsync(second.ConnectionString, "SHOW listen_addresses")).ShouldBe("");
        (await ScalarAsync(second.ConnectionString, "SHOW fsync")).ShouldBe("on");
        (await ScalarAsync(second.ConnectionString, "SHOW synchronous_commit")).ShouldBe("on");
        (await ScalarAsync(second.ConnectionString, "SHOW max_connections")).ShouldBe("200");
    }

    [Fact]
    public void Missing_binaries_give_a_clear_error_that_says_how_to_fix_it()
    {
        var error = Should.Throw<PostgresBinariesNotFoundException>(() => PostgresBinaries.Locate("", []));

        error.Message.ShouldContain("apt-get install");
        error.Message.ShouldContain("SEQ_STORAGE_CONNECTIONSTRING");
    }

    [Fact]
    public void Binaries_on_PATH_are_found_before_the_versioned_directories()
    {
        var onPath = FakeBinaries("path/bin");
        FakeBinaries("versions/15/bin");

        var binaries = PostgresBinaries.Locate($"{Path.Combine(_storageRoot, "nowhere")}:{onPath}", [Path.Combine(_storageRoot, "versions")]);

        binaries.PgCtl.ShouldBe(Path.Combine(onPath, "pg_ctl"));
        binaries.Postgres.ShouldBe(Path.Combine(onPath, "postgres"));
    }

    [Fact]
    public void Without_binaries_on_PATH_the_highest_installed_version_is_used()
    {
        foreach (var version in new[] { "9.6", "15", "13", "16beta" })
            FakeBinaries($"versions/{version}/bin");

        var binaries = PostgresBinaries.Locate("", [Path.Combine(_storageRoot, "versions")]);

        binaries.InitDb.ShouldBe(Path.Combine(_storageRoot, "versions", "15", "bin", "initdb"));
    }

    [Fact]
    public void The_storage_root_on_the_command_line_wins_over_the_environment()
    {
        var environment = Variables(("SEQ_STORAGE_ROOTPATH", "/srv/from-environment"));

        StorageRoot.Resolve("/srv/from-command-line", environment).ShouldBe("/srv/from-command-line");
    }

    [Fact]
    public void The_storage_root_comes_from_SEQ_STORAGE_ROOTPATH_when_the_command_line_has_none()
    {
        var environment = Variables(("SEQ_STORAGE_ROOTPATH", "/srv/from-environment/"), ("HOME", "/home/ada"));

        StorageRoot.Resolve(null, environment).ShouldBe("/srv/from-environment");
        StorageRoot.Resolve(" ", environment).ShouldBe("/srv/from-environment");
    }

    [Fact]
    public void Without_either_the_storage_root_is_var_lib_seq_for_root_and_the_data_home_for_anyone_else()
    {
        StorageRoot.Resolve(null, Variables(("HOME", "/root")), runningAsRoot: true).ShouldBe("/var/lib/seq");
        StorageRoot.Resolve(null, Variables(("HOME", "/home/ada"), ("XDG_DATA_HOME", "/data/ada")), runningAsRoot: false).ShouldBe("/data/ada/seq");
        StorageRoot.Resolve(null, Variables(("HOME", "/home/ada")), runningAsRoot: false).ShouldBe("/home/ada/.local/share/seq");
    }

    [Fact]
    public void A_relative_or_home_relative_storage_root_becomes_a_full_path()
    {
        var environment = Variables(("HOME", "/home/ada"));

        StorageRoot.Resolve("relative/seq", environment).ShouldBe(Path.Combine(Environment.CurrentDirectory, "relative", "seq"));
        StorageRoot.Resolve("~/seq", environment).ShouldBe("/home/ada/seq");
    }

    [Fact]
    public async Task A_start_that_finds_the_cluster_already_running_reuses_it()
    {
        var first = await StartAsync();
        await ExecuteAsync(first.ConnectionString, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('shared')");
        var postmaster = PostmasterPid(first);

        var second = await StartAsync();

        PostmasterPid(second).ShouldBe(postmaster);
        (await ScalarAsync(second.ConnectionString, "SELECT body FROM notes")).ShouldBe("shared");
        await second.StopAsync();
        await Should.NotThrowAsync(() => first.StopAsync());
    }

    [Fact]
    public async Task A_cluster_found_already_running_is_left_running_when_the_one_who_found_it_stops()
    {
        var owner = await StartAsync();
        var postmaster = PostmasterPid(owner);
        var adopter = await StartAsync();

        await adopter.StopAsync();

        File.Exists($"/proc/{postmaster}/stat").ShouldBeTrue();
        (await ScalarAsync(owner.ConnectionString, "SELECT current_database()")).ShouldBe("seq");
        await owner.StopAsync();
        File.Exists(Path.Combine(owner.DataDirectory, "postmaster.pid")).ShouldBeFalse();
    }

    [Fact]
    public async Task Two_starts_racing_on_a_new_storage_root_share_one_cluster()
    {
        var clusters = await Task.WhenAll(StartAsync(), StartAsync());

        PostmasterPid(clusters[0]).ShouldBe(PostmasterPid(clusters[1]));
        (await ScalarAsync(clusters[0].ConnectionString, "SELECT current_database()")).ShouldBe("seq");
        (await ScalarAsync(clusters[1].ConnectionString, "SELECT current_database()")).ShouldBe("seq");
    }

    [Fact]
    public async Task A_cluster_whose_server_was_killed_starts_again_with_its_data()
    {
        var crashed = await StartAsync();
        await ExecuteAsync(crashed.ConnectionString, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('survived')");
        await KillAsync(PostmasterPid(crashed));
        ClearPool(crashed.ConnectionString);

        var restarted = await StartAsync();

        (await ScalarAsync(restarted.ConnectionString, "SELECT body FROM notes")).ShouldBe("survived");
    }

    [Fact]
    public async Task A_stale_postmaster_pid_whose_pid_now_belongs_to_another_program_does_not_block_the_start()
    {
        var crashed = await StartAsync();
        var pidFile = Path.Combine(crashed.DataDirectory, "postmaster.pid");
        var lines = await File.ReadAllLinesAsync(pidFile);
        await KillAsync(PostmasterPid(crashed));
        using var impostor = StartImpostor();
        try
        {
            await File.WriteAllLinesAsync(pidFile, [impostor.Id.ToString(CultureInfo.InvariantCulture), .. lines.Skip(1)]);

            var restarted = await StartAsync();

            (await ScalarAsync(restarted.ConnectionString, "SELECT current_database()")).ShouldBe("seq");
            impostor.HasExited.ShouldBeFalse();
        }
        finally
        {
            impostor.Kill();
        }
    }

    [Fact]
    public async Task A_deep_storage_root_gets_a_short_socket_directory()
    {
        var deep = Path.Combine(_storageRoot, new string('d', 60), new string('e', 60));

        var cluster = await StartAsync(deep);
        _directoriesToDelete.Add(cluster.SocketDirectory);

        cluster.SocketDirectory.ShouldStartWith("/tmp/seq-pg-");
        File.GetUnixFileMode(cluster.SocketDirectory).ShouldBe(OwnerOnly);
        (await ScalarAsync(cluster.ConnectionString, "SELECT current_database()")).ShouldBe("seq");
    }

    [Fact]
    public async Task A_failed_initdb_leaves_no_data_directory_behind_and_does_not_reveal_the_password()
    {
        Directory.CreateDirectory(_storageRoot);
        var failingInitDb = Path.Combine(_storageRoot, "initdb");
        await File.WriteAllTextAsync(failingInitDb, """
            #!/bin/sh
            for argument in "$@"; do
              case "$argument" in --pwfile=*) password_file="${argument#--pwfile=}" ;; esac
            done
            touch "$2/PG_VERSION"
            echo "initdb: error: simulated failure with password $(cat "$password_file")" >&2
            exit 1
            """.ReplaceLineEndings("\n"));
        File.SetUnixFileMode(failingInitDb, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var real = PostgresBinaries.Locate();

        var error = await Should.ThrowAsync<EmbeddedPostgresException>(() => StartAsync(binaries: new PostgresBinaries(failingInitDb, real.PgCtl, real.Postgres)));

        var password = await File.ReadAllTextAsync(Path.Combine(_storageRoot, "PostgreSQL", "password"));
        error.Message.ShouldContain("simulated failure");
        error.Message.ShouldNotContain(password);
        Directory.GetFileSystemEntries(Path.Combine(_storageRoot, "PostgreSQL"), "*data*").ShouldBeEmpty();
        Directory.GetFiles(Path.Combine(_storageRoot, "PostgreSQL"), ".initdb-password-*").ShouldBeEmpty();
        (await ScalarAsync((await StartAsync()).ConnectionString, "SELECT current_database()")).ShouldBe("seq");
    }

    [Fact]
    public async Task As_root_a_storage_root_the_postgres_user_cannot_enter_gives_a_clear_error()
    {
        if (!Environment.IsPrivilegedProcess)
            return;

        var privateDirectory = Path.Combine(_storageRoot, "private");
        Directory.CreateDirectory(privateDirectory);
        File.SetUnixFileMode(privateDirectory, OwnerOnly);

        var error = await Should.ThrowAsync<EmbeddedPostgresException>(() => StartAsync(Path.Combine(privateDirectory, "seq")));

        error.Message.ShouldContain($"cannot enter {privateDirectory}");
        error.Message.ShouldContain("/var/lib/seq");
        error.Message.ShouldContain("SEQ_STORAGE_CONNECTIONSTRING");
        Directory.Exists(Path.Combine(privateDirectory, "seq", "PostgreSQL", "data")).ShouldBeFalse();
    }

    async Task<EmbeddedPostgres> StartAsync(string? storageRoot = null, PostgresBinaries? binaries = null)
    {
        var cluster = await EmbeddedPostgres.StartAsync(storageRoot ?? _storageRoot, binaries ?? PostgresBinaries.Locate(), NullLogger.Instance);
        lock (_clusters)
            _clusters.Add(cluster);
        return cluster;
    }

    static Func<string, string?> Variables(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(variable => variable.Name == name).Value;

    string FakeBinaries(string relativeDirectory)
    {
        var directory = Path.Combine(_storageRoot, relativeDirectory);
        Directory.CreateDirectory(directory);
        foreach (var program in new[] { "initdb", "pg_ctl", "postgres" })
        {
            var path = Path.Combine(directory, program);
            File.WriteAllText(path, "#!/bin/sh\n");
            File.SetUnixFileMode(path, OwnerOnly);
        }
        return directory;
    }

    // The killed server's connections are still in the pool, and the restarted one answers on the same connection string.
    static void ClearPool(string connectionString)
    {
        using var connection = new NpgsqlConnection(connectionString);
        NpgsqlConnection.ClearPool(connection);
    }

    static int PostmasterPid(EmbeddedPostgres cluster) =>
        int.Parse(File.ReadLines(Path.Combine(cluster.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);

    static async Task KillAsync(int pid)
    {
        using (var postmaster = Process.GetProcessById(pid))
            postmaster.Kill();

        // Dead is enough: whether anyone reaps the orphaned postmaster is up to the machine's init.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (IsAlive(pid))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Process {pid} was still alive 30 seconds after being killed.");
            await Task.Delay(20);
        }
    }

    static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    // A long-running program that is not PostgreSQL, owned by the user pg_ctl runs as, so that pg_ctl sees its pid as alive.
    static Process StartImpostor()
    {
        var startInfo = Environment.IsPrivilegedProcess
            ? new ProcessStartInfo("setpriv", ["--reuid=postgres", "--regid=postgres", "--clear-groups", "sleep", "300"])
            : new ProcessStartInfo("sleep", ["300"]);
        return Process.Start(startInfo)!;
    }

    static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    static async Task<string?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (await command.ExecuteScalarAsync())?.ToString();
    }
}

using System.Security.Cryptography;
using System.Text;

namespace Seq.Infrastructure.Postgres;

public sealed partial class EmbeddedPostgres
{
    sealed class ClusterPaths(string storageRoot)
    {
        public const string SettingsFileName = "seq.conf";
        public const string StagingMarker = ".initializing-";
        public const string PasswordForInitDbPrefix = ".initdb-password-";

        public string StorageRoot { get; } = storageRoot;
        public string ClusterDirectory { get; } = Path.Combine(storageRoot, "PostgreSQL");
        public string DataDirectory => Path.Combine(ClusterDirectory, "data");
        public string PidFile => Path.Combine(DataDirectory, "postmaster.pid");
        public string PasswordFile => Path.Combine(ClusterDirectory, "password");
        public string LockFile => Path.Combine(ClusterDirectory, ".lock");
        public string LogDirectory => Path.Combine(ClusterDirectory, "log");
        public string LogFile => Path.Combine(LogDirectory, "postgresql.log");

        // The socket's full path must fit in sun_path; a deep storage root gets a short directory of its own under /tmp.
        public string SocketDirectory
        {
            get
            {
                var preferred = Path.Combine(ClusterDirectory, "run");
                if (Encoding.UTF8.GetByteCount($"{preferred}/.s.PGSQL.{DefaultPort}") <= MaxSocketPathBytes)
                    return preferred;

                var hash = SHA256.HashData(Encoding.UTF8.GetBytes(StorageRoot));
                return $"/tmp/seq-pg-{Convert.ToHexStringLower(hash.AsSpan(0, 4))}";
            }
        }
    }
}

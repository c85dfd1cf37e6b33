using System.Diagnostics;
using Seq.Infrastructure.Configuration;
using Seq.Infrastructure.Security;
using Seq.Infrastructure.Storage;
using Seq.Tests.Support;

namespace Seq.Tests.Storage;

public sealed class DirectorySyncTests : IDisposable
{
    readonly string _root = TestDirectories.NewPath("dirsync");

    [Fact]
    public void Flushing_an_existing_directory_succeeds_and_a_missing_one_is_a_clear_error()
    {
        Directory.CreateDirectory(_root);

        DirectorySync.Flush(_root);

        Should.Throw<IOException>(() => DirectorySync.Flush(Path.Combine(_root, "missing"))).Message.ShouldContain("could not be opened");
    }

    [Fact]
    public async Task Creating_the_secret_key_syncs_the_storage_root_so_a_crash_cannot_lose_the_key_file()
    {
        var storage = Path.Combine(_root, "storage");
        var trace = Path.Combine(_root, "sync.trace");
        Directory.CreateDirectory(_root);
        var start = new ProcessStartInfo("strace") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-f", "-qq", "-e", "trace=openat,fsync", "-o", trace, Environment.ProcessPath!, Path.Combine(AppContext.BaseDirectory, "seqsvr.dll"), "secret", "set", "-k", "firstRun.adminPassword", "-v", "first-run-password-1", "--storage", storage })
            start.ArgumentList.Add(argument);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("SEQ_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        process.ExitCode.ShouldBe(0, output);
        File.Exists(Path.Combine(storage, SecretKeyLoader.KeyFileName)).ShouldBeTrue();
        // `secret set` stores the key first, then Seq.json, which syncs the root too: only the syncs before Seq.json count.
        var lines = File.ReadAllLines(trace).TakeWhile(l => !(l.Contains(HostConfiguration.FileName, StringComparison.Ordinal) && l.Contains("O_CREAT", StringComparison.Ordinal))).ToList();
        var directoryDescriptors = lines
            .Where(l => l.Contains($"\"{storage}\"", StringComparison.Ordinal) && l.Contains("O_DIRECTORY", StringComparison.Ordinal))
            .Select(l => l[(l.LastIndexOf('=') + 1)..].Trim())
            .ToHashSet();
        directoryDescriptors.ShouldNotBeEmpty("the storage root must be opened as a directory to be synced");
        lines.ShouldContain(l => l.Contains("fsync(", StringComparison.Ordinal) && directoryDescriptors.Any(fd => l.Contains($"fsync({fd})", StringComparison.Ordinal)));
    }

    [Fact]
    public void Flushing_a_file_syncs_it_and_a_descriptor_that_cannot_be_synced_is_reported_with_its_errno()
    {
        Directory.CreateDirectory(_root);
        using (var file = new FileStream(Path.Combine(_root, "data"), FileMode.Create, FileAccess.ReadWrite, FileShare.None, bufferSize: 0))
        {
            file.Write("line\n"u8);
            DirectorySync.FlushFile(file);
        }

        // fdatasync on a FIFO fails with EINVAL; FileStream.Flush(flushToDisk: true) says nothing about it.
        var fifo = Path.Combine(_root, "fifo");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
            mkfifo.WaitForExit();
        using var pipe = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        pipe.Flush(flushToDisk: true);
        var failure = Should.Throw<FileSyncException>(() => DirectorySync.FlushFile(pipe));
        failure.Errno.ShouldBe(22);
        failure.Message.ShouldContain("could not be synced to disk");
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}

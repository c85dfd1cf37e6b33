using System.Buffers.Binary;
using System.Security.Cryptography;
using Seq.Infrastructure.Backups;
using Seq.Infrastructure.Security;
using Seq.Tests.Support;

namespace Seq.Tests.Backups;

public sealed class BackupFormatTests : IDisposable
{
    readonly string _directory = TestDirectories.NewPath("bacfmt");
    readonly SecretKey _key = SecretKey.Generate();

    public void Dispose() => TestDirectories.Delete(_directory);

    async Task<BackupFile> WriteAsync(int events = 400)
    {
        var files = new BackupFiles(_directory);
        return await files.WriteAsync(_key, DateTimeOffset.UtcNow, (stream, _) =>
        {
            using var writer = new BackupContentWriter(stream);
            writer.Write(new BackupStreamRecord("s-1", "Thing", events, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, false));
            for (var i = 1; i <= events; i++)
            {
                // Random text does not compress, so the file spans several chunks.
                var noise = Convert.ToHexString(RandomNumberGenerator.GetBytes(1000));
                writer.Write(new BackupEventRecord("s-1", i, Guid.NewGuid(), "ThingHappened", $$"""{"Noise":"{{noise}}"}""", "{}", DateTimeOffset.UtcNow));
            }
            writer.Complete();
            return Task.CompletedTask;
        }, CancellationToken.None);
    }

    static void WriteLikeMetadata(Stream stream, int events)
    {
        using var writer = new BackupContentWriter(stream);
        var at = new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < events; i++)
            writer.Write(new BackupStreamRecord($"users/user-{i}", "User", 2, at, at, false));
        for (var i = 0; i < events; i++)
        {
            writer.Write(new BackupEventRecord($"users/user-{i}", 1, Guid.CreateVersion7(at.AddMilliseconds(i)), "UserCreated",
                $$"""{"UserId": "user-{{i}}", "Username": "user{{i}}", "DisplayName": "User {{i}}", "EmailAddress": "user{{i}}@example.com", "RoleIds": ["role-user-readwrite"], "ViewFilter": null, "PasswordHash": "pbkdf2-sha512$210000$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "MustChangePassword": false, "CreatedAt": "{{at:O}}"}""",
                """{"Principal": "admin", "PrincipalId": "user-admin", "CausationId": null, "CorrelationId": null, "AuditOperationId": null}""", at));
        }
        writer.Complete();
    }

    [Fact]
    public async Task Similar_metadata_events_compress_to_a_small_part_of_their_content()
    {
        using var plain = new MemoryStream();
        WriteLikeMetadata(plain, 5000);
        var files = new BackupFiles(_directory);

        var file = await files.WriteAsync(_key, DateTimeOffset.UtcNow, (stream, _) =>
        {
            WriteLikeMetadata(stream, 5000);
            return Task.CompletedTask;
        }, CancellationToken.None);

        // Each line differs from the one before in a few digits and an id: a compressor not flushed per line keeps
        // well under a fifth of it.
        file.SizeInBytes.ShouldBeLessThan(plain.Length / 5, $"{plain.Length} bytes of content became a {file.SizeInBytes}-byte file");
    }

    /// <summary>(offset, length) of each chunk after the header.</summary>
    static List<(int Offset, int Length)> Chunks(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        var (_, header) = BackupHeader.Read(stream, "x");
        var chunks = new List<(int, int)>();
        var at = header.Length;
        while (at < bytes.Length)
        {
            var length = (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at)) & 0x7FFF_FFFF);
            chunks.Add((at, 4 + 12 + length + 16));
            at += 4 + 12 + length + 16;
        }
        return chunks;
    }

    Exception RestoreOf(byte[] bytes)
    {
        var path = Path.Combine(_directory, $"altered-{Guid.NewGuid():N}.seqbac");
        File.WriteAllBytes(path, bytes);
        return Should.Throw<BackupFileException>(() => BackupRestore.Verify(path, _key));
    }

    [Fact]
    public async Task A_backup_reads_back_with_its_key_across_several_chunks()
    {
        var file = await WriteAsync();

        var (header, streams, events) = BackupRestore.Verify(file.FullPath, _key);

        Chunks(File.ReadAllBytes(file.FullPath)).Count.ShouldBeGreaterThan(3);
        (streams, events).ShouldBe((1L, 400L));
        header.KeyId.ShouldBe(_key.KeyId);
        file.FileName.ShouldEndWith(".seqbac");
    }

    [Fact]
    public async Task The_wrong_secret_key_is_refused_naming_both_key_ids_and_never_the_key()
    {
        var file = await WriteAsync(10);
        var other = SecretKey.Generate();

        var refused = Should.Throw<BackupFileException>(() => BackupRestore.Verify(file.FullPath, other));

        refused.Message.ShouldContain(_key.KeyId);
        refused.Message.ShouldContain(other.KeyId);
        refused.Message.ShouldNotContain(other.ToBase64());
    }

    [Fact]
    public async Task One_flipped_byte_anywhere_in_the_file_is_refused()
    {
        var bytes = File.ReadAllBytes((await WriteAsync()).FullPath);
        var positions = new List<int> { 0, 9, 12, 20, 30, bytes.Length / 3, bytes.Length / 2, bytes.Length - 20, bytes.Length - 1 };
        positions.AddRange(Chunks(bytes).Select(c => c.Offset)); // the frames: length and final flag
        positions.AddRange(Enumerable.Range(0, 40).Select(_ => RandomNumberGenerator.GetInt32(bytes.Length)));

        foreach (var position in positions.Distinct())
        {
            var altered = (byte[])bytes.Clone();
            altered[position] ^= 0x01;
            RestoreOf(altered).ShouldBeOfType<BackupFileException>($"flipping byte {position} of {bytes.Length}");
        }
    }

    [Fact]
    public async Task A_truncated_file_is_refused_as_incomplete()
    {
        var bytes = File.ReadAllBytes((await WriteAsync()).FullPath);
        var chunks = Chunks(bytes);

        // Cut at every chunk boundary (a whole number of chunks, only the final one missing) and inside chunks.
        foreach (var length in chunks.Select(c => c.Offset).Concat([10, bytes.Length - 1, bytes.Length - 17]))
            RestoreOf(bytes[..length]).Message.ShouldMatch("incomplete|not a Seq backup|damaged");
        RestoreOf(bytes[..chunks[^1].Offset]).Message.ShouldContain("incomplete");
    }

    [Fact]
    public async Task A_dropped_or_reordered_or_repeated_chunk_is_refused()
    {
        var bytes = File.ReadAllBytes((await WriteAsync()).FullPath);
        var chunks = Chunks(bytes);
        byte[] Part((int Offset, int Length) c) => bytes[c.Offset..(c.Offset + c.Length)];
        var header = bytes[..chunks[0].Offset];

        var dropped = header.Concat(chunks.Where((_, i) => i != 1).SelectMany(Part)).ToArray();
        var swapped = header.Concat(Part(chunks[1])).Concat(Part(chunks[0])).Concat(chunks.Skip(2).SelectMany(Part)).ToArray();
        var repeated = header.Concat(chunks.SelectMany(Part)).Concat(Part(chunks[^1])).ToArray();
        var finalMovedUp = header.Concat(Part(chunks[0])).Concat(Part(chunks[^1])).ToArray();

        RestoreOf(dropped).Message.ShouldContain("chunk 1 does not authenticate");
        RestoreOf(swapped).Message.ShouldContain("chunk 0 does not authenticate");
        RestoreOf(repeated).Message.ShouldContain("after its final chunk");
        RestoreOf(finalMovedUp).Message.ShouldContain("chunk 1 does not authenticate");
    }

    [Fact]
    public async Task A_backup_whose_writer_never_completed_does_not_restore_and_is_not_listed()
    {
        var files = new BackupFiles(_directory);
        await Should.ThrowAsync<InvalidOperationException>(() => files.WriteAsync(_key, DateTimeOffset.UtcNow, async (stream, _) =>
        {
            await stream.WriteAsync(RandomNumberGenerator.GetBytes(200_000));
            throw new InvalidOperationException("the snapshot failed");
        }, CancellationToken.None));

        files.List().ShouldBeEmpty();
        Directory.EnumerateFileSystemEntries(_directory).ShouldBeEmpty();
    }
}

using System.Buffers.Binary;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Seq.Infrastructure.Security;

namespace Seq.Infrastructure.Backups;

/// <summary>A backup file that cannot be used: not a backup, made under another key, damaged, altered or incomplete. The message names the file and never a key.</summary>
public sealed class BackupFileException(string message) : Exception(message);

/// <summary>
/// The header of a <c>.seqbac</c> file (docs/backup-format.md). Every field is authenticated, as associated data of
/// every chunk, so a changed header fails on the first chunk.
/// </summary>
public sealed record BackupHeader(ushort FormatVersion, string KeyId, DateTimeOffset CreatedAt, string ServerVersion, byte[] Salt, int ChunkSize)
{
    public const ushort CurrentFormatVersion = 1;
    public const int SaltSize = 32;
    public const int DefaultChunkSize = 64 * 1024;
    public const int MaximumChunkSize = 1024 * 1024;

    /// <summary>"SEQBAC" then CR LF, so that a transfer that rewrites line endings is caught at the first bytes.</summary>
    public static ReadOnlySpan<byte> Magic => "SEQBAC\r\n"u8;

    /// <summary>HKDF info for the backup purpose; the per-file key is then derived with the file's salt.</summary>
    public const string Purpose = "seq/backup/v1";

    static readonly byte[] FileKeyInfo = Encoding.UTF8.GetBytes("seq/backup/file-key/v1");

    public static string CurrentServerVersion { get; } =
        typeof(BackupHeader).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static BackupHeader New(SecretKey key, DateTimeOffset createdAt, int chunkSize = DefaultChunkSize) =>
        new(CurrentFormatVersion, key.KeyId, createdAt, CurrentServerVersion, RandomNumberGenerator.GetBytes(SaltSize), chunkSize);

    public byte[] ToBytes()
    {
        var version = Encoding.UTF8.GetBytes(ServerVersion);
        if (version.Length > 64)
            throw new ArgumentException("The server version is too long for a backup header.");
        var bytes = new byte[Magic.Length + 2 + 4 + 8 + 1 + version.Length + SaltSize + 4];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        var at = Magic.Length;
        BinaryPrimitives.WriteUInt16BigEndian(span[at..], FormatVersion); at += 2;
        Convert.FromHexString(KeyId).CopyTo(span[at..]); at += 4;
        BinaryPrimitives.WriteInt64BigEndian(span[at..], CreatedAt.ToUnixTimeMilliseconds()); at += 8;
        span[at++] = (byte)version.Length;
        version.CopyTo(span[at..]); at += version.Length;
        Salt.CopyTo(span[at..]); at += SaltSize;
        BinaryPrimitives.WriteInt32BigEndian(span[at..], ChunkSize);
        return bytes;
    }

    /// <summary>Reads the header, returning it with its exact bytes (the associated data of every chunk).</summary>
    /// <exception cref="BackupFileException">The stream does not start with a header this server can read.</exception>
    public static (BackupHeader Header, byte[] Bytes) Read(Stream stream, string fileName)
    {
        var fixedPart = new byte[Magic.Length + 2 + 4 + 8 + 1];
        if (!ReadExactly(stream, fixedPart) || !fixedPart.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new BackupFileException($"{fileName} is not a Seq backup (.seqbac) file.");
        var at = Magic.Length;
        var formatVersion = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(at)); at += 2;
        if (formatVersion != CurrentFormatVersion)
            throw new BackupFileException($"{fileName} is a backup in format version {formatVersion}, which this server (format version {CurrentFormatVersion}) cannot read.");
        var keyId = Convert.ToHexStringLower(fixedPart.AsSpan(at, 4)); at += 4;
        var created = BinaryPrimitives.ReadInt64BigEndian(fixedPart.AsSpan(at)); at += 8;
        var versionLength = fixedPart[at];

        var rest = new byte[versionLength + SaltSize + 4];
        if (!ReadExactly(stream, rest))
            throw new BackupFileException($"{fileName} is incomplete: it ends inside its header.");
        var serverVersion = Encoding.UTF8.GetString(rest, 0, versionLength);
        var salt = rest.AsSpan(versionLength, SaltSize).ToArray();
        var chunkSize = BinaryPrimitives.ReadInt32BigEndian(rest.AsSpan(versionLength + SaltSize));
        if (chunkSize is < 1 or > MaximumChunkSize || created is < 0 or > 253402300799999)
            throw new BackupFileException($"{fileName} is damaged or has been altered: its header is not valid.");

        var header = new BackupHeader(formatVersion, keyId, DateTimeOffset.FromUnixTimeMilliseconds(created), serverVersion, salt, chunkSize);
        return (header, [.. fixedPart, .. rest]);
    }

    /// <summary>The AES-256-GCM key of this one file. The caller zeroes it.</summary>
    public byte[] DeriveFileKey(SecretKey key)
    {
        var purposeKey = key.DeriveSubkey(Purpose);
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, purposeKey, 32, Salt, FileKeyInfo);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(purposeKey);
        }
    }

    internal static bool ReadExactly(Stream stream, Span<byte> buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = stream.Read(buffer[read..]);
            if (n == 0)
                return false;
            read += n;
        }
        return true;
    }

    /// <summary>Associated data of one chunk: the header, the chunk's index and whether it is the last.</summary>
    internal static byte[] ChunkAssociatedData(byte[] header, long index, bool final)
    {
        var data = new byte[header.Length + 9];
        header.CopyTo(data, 0);
        BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(header.Length), index);
        data[^1] = final ? (byte)1 : (byte)0;
        return data;
    }
}

/// <summary>
/// Encrypts what is written to it into chunks after the header. Nothing marks the content complete until
/// <see cref="Complete"/> writes the final chunk; a writer that fails before that leaves a file no reader accepts.
/// </summary>
public sealed class BackupEncryptingStream : Stream
{
    const int NonceSize = 12;
    const int TagSize = 16;
    internal const uint FinalBit = 0x8000_0000;

    readonly Stream _output;
    readonly byte[] _header;
    readonly AesGcm _aes;
    readonly byte[] _plain;
    readonly byte[] _cipher;
    readonly byte[] _tag = new byte[TagSize];
    readonly byte[] _nonce = new byte[NonceSize];
    readonly byte[] _frame = new byte[4];
    int _filled;
    long _index;
    bool _completed;

    public BackupEncryptingStream(Stream output, SecretKey key, BackupHeader header)
    {
        _output = output;
        _header = header.ToBytes();
        var fileKey = header.DeriveFileKey(key);
        _aes = new AesGcm(fileKey, TagSize);
        CryptographicOperations.ZeroMemory(fileKey);
        _plain = new byte[header.ChunkSize];
        _cipher = new byte[header.ChunkSize];
        _output.Write(_header);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        while (!buffer.IsEmpty)
        {
            // A full chunk is only sealed once more data arrives, so that the last one can carry the final flag.
            if (_filled == _plain.Length)
                Seal(final: false);
            var take = Math.Min(buffer.Length, _plain.Length - _filled);
            buffer[..take].CopyTo(_plain.AsSpan(_filled));
            _filled += take;
            buffer = buffer[take..];
        }
    }

    /// <summary>Writes the last chunk, with the final flag. Until then the file does not restore.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        Seal(final: true);
        _completed = true;
        _output.Flush();
    }

    void Seal(bool final)
    {
        RandomNumberGenerator.Fill(_nonce);
        var plain = _plain.AsSpan(0, _filled);
        var cipher = _cipher.AsSpan(0, _filled);
        _aes.Encrypt(_nonce, plain, cipher, _tag, BackupHeader.ChunkAssociatedData(_header, _index, final));
        // The final flag travels in the frame's top bit and is authenticated as associated data.
        BinaryPrimitives.WriteUInt32BigEndian(_frame, (uint)_filled | (final ? FinalBit : 0));
        _output.Write(_frame);
        _output.Write(_nonce);
        _output.Write(cipher);
        _output.Write(_tag);
        CryptographicOperations.ZeroMemory(plain);
        _filled = 0;
        _index++;
    }

    public override void Flush()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aes.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
        }
        _completed = true;
        base.Dispose(disposing);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>
/// Reads and authenticates a backup's chunks one at a time, so memory stays flat. It refuses, with a
/// <see cref="BackupFileException"/>, a chunk that does not authenticate (another key, a changed byte, a chunk moved or
/// dropped: the index is authenticated), a file that ends before its final chunk, and anything after it.
/// </summary>
public sealed class BackupDecryptingStream : Stream
{
    const int NonceSize = 12;
    const int TagSize = 16;

    readonly Stream _input;
    readonly string _fileName;
    readonly byte[] _headerBytes;
    readonly AesGcm _aes;
    readonly byte[] _plain;
    readonly byte[] _cipher;
    readonly byte[] _tag = new byte[TagSize];
    readonly byte[] _nonce = new byte[NonceSize];
    readonly byte[] _frame = new byte[4];
    int _available;
    int _position;
    long _index;
    bool _sawFinal;

    /// <exception cref="BackupFileException">The header cannot be read, or names another secret key.</exception>
    public BackupDecryptingStream(Stream input, SecretKey key, string fileName)
    {
        _input = input;
        _fileName = fileName;
        (Header, _headerBytes) = BackupHeader.Read(input, fileName);
        if (Header.KeyId != key.KeyId)
            throw new BackupFileException(
                $"{fileName} was made with secret key {Header.KeyId}, and the key given is secret key {key.KeyId}: give the secret key of the instance the backup came from.");
        var fileKey = Header.DeriveFileKey(key);
        _aes = new AesGcm(fileKey, TagSize);
        CryptographicOperations.ZeroMemory(fileKey);
        _plain = new byte[Header.ChunkSize];
        _cipher = new byte[Header.ChunkSize];
    }

    public BackupHeader Header { get; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (_position == _available)
        {
            if (_sawFinal)
                return 0;
            NextChunk();
        }
        var take = Math.Min(buffer.Length, _available - _position);
        _plain.AsSpan(_position, take).CopyTo(buffer);
        _position += take;
        return take;
    }

    /// <summary>Reads the rest of the file, authenticating every chunk, without keeping any of it.</summary>
    public void VerifyToEnd()
    {
        while (!_sawFinal)
            NextChunk();
        _position = _available;
    }

    void NextChunk()
    {
        if (!BackupHeader.ReadExactly(_input, _frame))
            throw Incomplete();
        var frame = BinaryPrimitives.ReadUInt32BigEndian(_frame);
        var final = (frame & BackupEncryptingStream.FinalBit) != 0;
        var length = (int)(frame & ~BackupEncryptingStream.FinalBit);
        if (length > _plain.Length)
            throw Altered($"chunk {_index} has an impossible length");
        if (!BackupHeader.ReadExactly(_input, _nonce) || !BackupHeader.ReadExactly(_input, _cipher.AsSpan(0, length)) || !BackupHeader.ReadExactly(_input, _tag))
            throw Incomplete();

        try
        {
            _aes.Decrypt(_nonce, _cipher.AsSpan(0, length), _tag, _plain.AsSpan(0, length), BackupHeader.ChunkAssociatedData(_headerBytes, _index, final));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Altered($"chunk {_index} does not authenticate under secret key {Header.KeyId}");
        }
        _index++;
        _available = length;
        _position = 0;
        if (final)
        {
            _sawFinal = true;
            Span<byte> probe = stackalloc byte[1];
            if (_input.Read(probe) != 0)
                throw Altered("there is data after its final chunk");
        }
    }

    BackupFileException Incomplete() =>
        new($"{_fileName} is incomplete: it ends before its final chunk (cut short, or a backup that was never finished).");

    BackupFileException Altered(string what) =>
        new($"{_fileName} is damaged or has been altered: {what}.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aes.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush()
    {
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

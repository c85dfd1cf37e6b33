using System.Net.Sockets;
using System.Text;

namespace Seq.Tests.Support;

/// <summary>
/// One HTTP/1.1 exchange over a bare TCP connection, for requests no HTTP client will send (a malformed path, a
/// body too big for its chunked encoding, more headers than a server accepts) and for reading exactly what came back.
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, string Body);

    /// <summary>Sends <paramref name="head"/> (request line and headers, without the blank line) and then <paramref name="body"/>.</summary>
    public static Task<Response> SendAsync(Uri server, string head, byte[]? body = null) =>
        SendAsync(server, head, body is null ? [] : [body]);

    /// <summary>Sends <paramref name="head"/>, then each part of the body in a write of its own, as a client that streams its upload.</summary>
    public static async Task<Response> SendAsync(Uri server, string head, IEnumerable<byte[]> bodyParts)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(server.Host, server.Port);
        var stream = client.GetStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // The server may answer and close before it has read everything; what it answered is still there to read.
        try
        {
            await stream.WriteAsync(Encoding.Latin1.GetBytes(head.TrimEnd() + "\r\n\r\n"), timeout.Token);
            foreach (var part in bodyParts)
                await stream.WriteAsync(part, timeout.Token);
        }
        catch (IOException)
        {
        }

        var buffer = new byte[64 * 1024];
        return await ReadResponseAsync(stream, new MemoryStream(), buffer, stream.ReadAsync(buffer, timeout.Token).AsTask(), timeout.Token);
    }

    /// <summary>Reads until <paramref name="received"/> holds a whole response, or the server closes; <paramref name="pending"/> is the read already under way.</summary>
    static async Task<Response> ReadResponseAsync(NetworkStream stream, MemoryStream received, byte[] buffer, Task<int> pending, CancellationToken cancellationToken)
    {
        while (true)
        {
            int read;
            try
            {
                read = await pending;
            }
            catch (IOException) when (received.Length > 0)
            {
                break;
            }
            if (read == 0)
                break;
            received.Write(buffer, 0, read);
            if (TryParse(received.ToArray(), closed: false) is { } complete)
                return complete;
            pending = stream.ReadAsync(buffer, cancellationToken).AsTask();
        }
        return TryParse(received.ToArray(), closed: true) ?? throw new InvalidDataException($"An incomplete response: {Encoding.Latin1.GetString(received.ToArray())}");
    }

    /// <summary>
    /// Sends <paramref name="head"/> with <c>Expect: 100-continue</c>, waits for the server to start reading the body,
    /// sends <paramref name="start"/>, and sends <paramref name="rest"/> only if no answer came within
    /// <paramref name="patience"/>: a server that judges a body by its start answers before the rest is sent.
    /// </summary>
    public static async Task<Response> SendSlowlyAsync(Uri server, string head, byte[] start, byte[] rest, TimeSpan patience)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(server.Host, server.Port);
        var stream = client.GetStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.TrimEnd() + "\r\nExpect: 100-continue\r\n\r\n"), timeout.Token);

        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (!Encoding.Latin1.GetString(received.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
                throw new InvalidDataException("The connection closed before the server answered 100 Continue.");
            received.Write(buffer, 0, read);
        }
        var interim = Encoding.Latin1.GetString(received.ToArray());
        if (!interim.StartsWith("HTTP/1.1 100", StringComparison.Ordinal))
            return TryParse(received.ToArray(), closed: false) ?? throw new InvalidDataException(interim);
        received.SetLength(0);
        received.Write(Encoding.Latin1.GetBytes(interim[(interim.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]));

        await stream.WriteAsync(start, timeout.Token);
        var pending = stream.ReadAsync(buffer, timeout.Token).AsTask();
        if (await Task.WhenAny(pending, Task.Delay(patience, timeout.Token)) != pending)
        {
            try
            {
                await stream.WriteAsync(rest, timeout.Token);
            }
            catch (IOException)
            {
            }
        }
        return await ReadResponseAsync(stream, received, buffer, pending, timeout.Token);
    }

    static Response? TryParse(byte[] data, bool closed)
    {
        var text = Encoding.Latin1.GetString(data);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
            return null;
        var lines = text[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var rest = data.AsSpan(Encoding.Latin1.GetByteCount(text[..(end + 4)]));

        if (headers.TryGetValue("Content-Length", out var length))
        {
            var count = int.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
            return rest.Length >= count ? new Response(status, headers, Encoding.UTF8.GetString(rest[..count])) : null;
        }
        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var body = new StringBuilder();
            var chunks = Encoding.Latin1.GetString(rest);
            var position = 0;
            while (true)
            {
                var lineEnd = chunks.IndexOf("\r\n", position, StringComparison.Ordinal);
                if (lineEnd < 0)
                    return null;
                var size = Convert.ToInt32(chunks[position..lineEnd].Split(';')[0], 16);
                if (size == 0)
                    return new Response(status, headers, Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(body.ToString())));
                if (chunks.Length < lineEnd + 2 + size + 2)
                    return null;
                body.Append(chunks, lineEnd + 2, size);
                position = lineEnd + 2 + size + 2;
            }
        }
        // Neither: the body runs to the end of the connection.
        return closed ? new Response(status, headers, Encoding.UTF8.GetString(rest)) : null;
    }
}

using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Seq.Api.Hosting;

/// <summary>
/// Gives the responses Kestrel writes by itself an <c>{"Error": …}</c> body. Kestrel refuses a request whose request
/// line, target or headers it cannot accept (a <c>%00</c> in the path, a URL or headers over its limits) before any
/// middleware runs, with a status line, <c>Content-Length: 0</c> and <c>Connection: close</c> and nothing else: there
/// is no hook for them above the connection (ADR 0014). This connection middleware sees what Kestrel writes, one flush
/// at a time, and completes exactly such a response with a body; everything else passes through unchanged.
/// </summary>
static class ServerRefusalBodies
{
    public static void UseErrorBodiesForServerRefusals(this ListenOptions listen) =>
        listen.Use(next => connection =>
        {
            connection.Transport = new Transport(connection.Transport.Input, new RefusalBodyWriter(connection.Transport.Output));
            return next(connection);
        });

    sealed class Transport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// Holds what is written between flushes, so that a whole response head can be recognized before it leaves.
    /// Kestrel flushes each response head and body write, so the window is small, and it is released when it grew large.
    /// </summary>
    sealed class RefusalBodyWriter(PipeWriter inner) : PipeWriter
    {
        const int KeptCapacity = 64 * 1024;
        const int LongestRefusalHead = 1024;

        ArrayBufferWriter<byte> _pending = new(4096);

        public override bool CanGetUnflushedBytes => true;
        public override long UnflushedBytes => _pending.WrittenCount;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _pending.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => _pending.GetSpan(sizeHint);
        public override void Advance(int bytes) => _pending.Advance(bytes);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Forward();
            return inner.FlushAsync(cancellationToken);
        }

        public override void Complete(Exception? exception = null)
        {
            Forward();
            inner.Complete(exception);
        }

        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            Forward();
            await inner.FlushAsync();
            await inner.CompleteAsync(exception);
        }

        void Forward()
        {
            if (_pending.WrittenCount == 0)
                return;
            var written = _pending.WrittenSpan;
            if (RefusalStatus(written) is { } status)
                WithErrorBody(written, status);
            else
                inner.Write(written);

            if (_pending.Capacity > KeptCapacity)
                _pending = new ArrayBufferWriter<byte>(4096);
            else
                _pending.ResetWrittenCount();
        }

        /// <summary>The status of a response head Kestrel wrote itself: an error, no body, no content type, and the connection closing.</summary>
        static int? RefusalStatus(ReadOnlySpan<byte> written)
        {
            if (written.Length > LongestRefusalHead || !written.StartsWith("HTTP/1.1 "u8) || !written.EndsWith("\r\n\r\n"u8)
                || written[..^4].IndexOf("\r\n\r\n"u8) >= 0)
                return null;
            if (written.IndexOf("\r\nContent-Length: 0\r\n"u8) < 0 || written.IndexOf("\r\nConnection: close\r\n"u8) < 0
                || written.IndexOf("\r\nContent-Type:"u8) >= 0 || written.IndexOf("\r\nTransfer-Encoding:"u8) >= 0)
                return null;
            return int.TryParse(written.Slice(9, 3), out var status) && status >= 400 ? status : null;
        }

        void WithErrorBody(ReadOnlySpan<byte> head, int status)
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorBody(ErrorMapping.DescribeStatus(status)), ErrorBody.JsonOptions);
            var contentLength = head.IndexOf("\r\nContent-Length: 0\r\n"u8) + 2;
            inner.Write(head[..contentLength]);
            inner.Write(Encoding.ASCII.GetBytes($"Content-Type: application/json; charset=utf-8\r\nContent-Length: {body.Length}\r\n"));
            foreach (var (name, value) in SecurityHeaders.Always)
                inner.Write(Encoding.ASCII.GetBytes($"{name}: {value}\r\n"));
            inner.Write(head[(contentLength + "Content-Length: 0\r\n".Length)..]);
            inner.Write(body);
        }
    }
}

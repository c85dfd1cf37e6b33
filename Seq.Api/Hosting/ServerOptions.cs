using Seq.Infrastructure.Security;

namespace Seq.Api.Hosting;

/// <summary>What a server instance needs from its host: where its data is, where it listens, and its secret key.</summary>
public sealed record ServerOptions(string ConnectionString, IReadOnlyList<string> ListenUris, SecretKey SecretKey)
{
    public const string DefaultListenUri = "http://localhost:5341";

    // The generated ToString would print the connection string, password included.
    public override string ToString() => $"ServerOptions {{ ListenUris = {string.Join(", ", ListenUris)}, SecretKey = {SecretKey} }}";

    /// <summary>Reads <c>SEQ_API_LISTENURIS</c>: one or more URIs separated by commas or semicolons.</summary>
    public static IReadOnlyList<string> ListenUrisFrom(string? configured)
    {
        var uris = (configured ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return uris.Length == 0 ? [DefaultListenUri] : uris;
    }
}

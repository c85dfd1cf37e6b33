namespace Seq.Api.Hosting;

/// <summary>What a server instance needs from its host: where its data is and where it listens.</summary>
public sealed record ServerOptions(string ConnectionString, IReadOnlyList<string> ListenUris)
{
    public const string DefaultListenUri = "http://localhost:5341";

    /// <summary>Reads <c>SEQ_API_LISTENURIS</c>: one or more URIs separated by commas or semicolons.</summary>
    public static IReadOnlyList<string> ListenUrisFrom(string? configured)
    {
        var uris = (configured ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return uris.Length == 0 ? [DefaultListenUri] : uris;
    }
}

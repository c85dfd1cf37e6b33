namespace Seq.Application.ApiKeys;

/// <summary>
/// What a token chosen by the client must be (ADR 0005): CI pipelines provision a known ingestion key this way, so
/// it is accepted for shared keys only, and only when it is long and varied enough that it was not typed by hand.
/// The characters are those that travel unescaped in a header and in <c>?apiKey=</c>.
/// </summary>
public static class ClientChosenTokens
{
    public const int MinimumLength = 20;
    public const int MaximumLength = 100;
    public const int MinimumDistinctCharacters = 16;

    public static bool IsAllowedCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~';

    /// <summary>Why <paramref name="token"/> is refused, or null when it is strong enough. Never quotes the token.</summary>
    public static string? Weakness(string token)
    {
        if (token.Length < MinimumLength || token.Length > MaximumLength)
            return $"An API key token chosen by the client must be {MinimumLength} to {MaximumLength} characters long.";
        if (!token.All(IsAllowedCharacter))
            return "An API key token chosen by the client may contain only ASCII letters, digits and - _ . ~";
        if (token.Distinct().Count() < MinimumDistinctCharacters)
            return $"An API key token chosen by the client must contain at least {MinimumDistinctCharacters} different characters; generate it randomly.";
        return null;
    }
}

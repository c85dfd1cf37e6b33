namespace Seq.Application.Auditing;

/// <summary>
/// The user information of a URL (<c>user:password@</c> before the host). Found leniently, on text that need not be
/// a valid URL: a value refused as malformed still reaches the audit log's Begin, so it must not carry credentials
/// there either.
/// </summary>
public static class UrlUserInfo
{
    static readonly char[] Slashes = ['/', '\\'];
    static readonly char[] AuthorityEnds = ['/', '\\', '?', '#'];

    /// <summary>Whether <paramref name="text"/> carries user information that <see cref="Remove"/> would take out.</summary>
    public static bool IsPresent(string? text) => !string.Equals(Remove(text), text, StringComparison.Ordinal);

    /// <summary><paramref name="text"/> without user information; text without any is returned unchanged.</summary>
    public static string? Remove(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return text;

        // An authority follows the scheme's colon (one before any slash and any @, so not a port's) and a "//" that
        // starts the path. Both are scanned, the later first so that the earlier's index still holds: in
        // https:user:token@host//feed the credentials follow the colon, in Feed: https://user:token@host/ the "//".
        // Text without a scheme is scanned from its start, unless that is a lone slash: a path has no authority.
        var firstSlash = text.IndexOfAny(Slashes);
        var colon = text.IndexOf(':');
        var scheme = colon >= 0 && (firstSlash < 0 || colon < firstSlash) && text.LastIndexOf('@', colon) < 0;
        var doubleSlash = firstSlash >= 0 && firstSlash + 1 < text.Length && Slashes.Contains(text[firstSlash + 1]);
        var removed = text;
        var start = 0;
        if (doubleSlash)
            (removed, start) = WithoutAuthorityUserInfo(removed, firstSlash);
        if (scheme)
            (removed, start) = WithoutAuthorityUserInfo(removed, colon + 1);
        else if (firstSlash != 0)
            (removed, start) = WithoutAuthorityUserInfo(removed, 0);

        // Whatever the text looked like, what a URL parser would take as user information goes too.
        if (Uri.TryCreate(removed.Trim(), UriKind.Absolute, out var uri))
            return uri.UserInfo.Length > 0 ? uri.GetComponents(UriComponents.AbsoluteUri & ~UriComponents.UserInfo, UriFormat.UriEscaped) : removed;

        // A text no URL parser accepts may hide credentials behind a character that would end a valid authority
        // (https://user:p?ss@host/): when it has a scheme or a "//", everything from the authority to its last @ goes.
        var last = removed.LastIndexOf('@');
        return (scheme || doubleSlash) && last >= start ? removed[..start] + removed[(last + 1)..] : removed;
    }

    /// <summary>
    /// <paramref name="text"/> without the user information of the authority that starts at <paramref name="from"/>
    /// (after any slashes), and where that authority starts.
    /// </summary>
    static (string Text, int Start) WithoutAuthorityUserInfo(string text, int from)
    {
        var start = from;
        while (start < text.Length && Slashes.Contains(text[start]))
            start++;

        var end = text.IndexOfAny(AuthorityEnds, start);
        if (end < 0)
            end = text.Length;
        var at = end > start ? text.LastIndexOf('@', end - 1, end - start) : -1;
        return (at < 0 ? text : text[..start] + text[(at + 1)..], start);
    }
}

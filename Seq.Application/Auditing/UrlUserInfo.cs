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

        // The authority follows the first "//" when the text starts its path with one, else the scheme's colon;
        // a lone leading slash starts a path, which has no authority.
        var start = 0;
        var firstSlash = text.IndexOfAny(Slashes);
        var colon = text.IndexOf(':');
        if (firstSlash >= 0 && firstSlash + 1 < text.Length && Slashes.Contains(text[firstSlash + 1]))
            start = firstSlash;
        else if (colon >= 0 && (firstSlash < 0 || colon < firstSlash))
            start = colon + 1;
        while (start < text.Length && Slashes.Contains(text[start]))
            start++;

        var end = text.IndexOfAny(AuthorityEnds, start);
        if (end < 0)
            end = text.Length;
        var at = end > start ? text.LastIndexOf('@', end - 1, end - start) : -1;
        var removed = at < 0 ? text : text[..start] + text[(at + 1)..];

        // Whatever the text looked like, what a URL parser would take as user information goes too.
        if (Uri.TryCreate(removed.Trim(), UriKind.Absolute, out var uri))
            return uri.UserInfo.Length > 0 ? uri.GetComponents(UriComponents.AbsoluteUri & ~UriComponents.UserInfo, UriFormat.UriEscaped) : removed;

        // A text no URL parser accepts may hide credentials behind a character that would end a valid authority
        // (https://user:p?ss@host/): when it has a scheme or a "//", everything from the authority to its last @ goes.
        var last = removed.LastIndexOf('@');
        return start > 0 && last >= start ? removed[..start] + removed[(last + 1)..] : removed;
    }
}

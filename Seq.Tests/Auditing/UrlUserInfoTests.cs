using Seq.Application.Auditing;

namespace Seq.Tests.Auditing;

/// <summary>
/// <see cref="UrlUserInfo.Remove"/> works in passes that overlap: a scan of the authority after the scheme's colon, one
/// after a "//", one from the start of a text without a scheme, then <see cref="Uri"/>'s own parse, then, for a text
/// no parser takes, everything up to the last @. Each case here is one that only the pass it names gets right, so
/// that a pass broken on its own is seen (the cases of <see cref="AuditRedactionTests"/> are mostly handled twice).
/// </summary>
public sealed class UrlUserInfoTests
{
    static void ShouldRemove(string text, string expected)
    {
        UrlUserInfo.Remove(text).ShouldBe(expected);
        UrlUserInfo.IsPresent(text).ShouldBe(text != expected);
    }

    [Theory]
    [InlineData("https:user:token@host//feed", "https:host//feed")]
    [InlineData("HTTPS:user:token@HOST//feed", "HTTPS:HOST//feed")]
    [InlineData(" https:user:token@ho st//feed", " https:ho st//feed")]
    [InlineData("https:\tuser:token@host//feed", "https:host//feed")]
    public void Credentials_after_the_schemes_colon_are_removed_when_a_double_slash_comes_later_in_the_path(string text, string expected)
    {
        // A WHATWG parser reads https:user:token@host//feed as user "user", password "token"; the "//" is the path's.
        ShouldRemove(text, expected);
    }

    [Theory]
    [InlineData("git:user:token@host/repo", "git:host/repo")]
    [InlineData("git:token@host", "git:host")]
    public void Credentials_after_a_scheme_without_slashes_are_removed_although_uri_reads_the_text_as_having_none(string text, string expected)
    {
        // Uri takes both texts as opaque, so neither its parse nor the last-@ pass (which it prevents) would act.
        ShouldRemove(text, expected);
    }

    [Theory]
    [InlineData(":token@host", ":host")]
    [InlineData("@host:8080/feed", "host:8080/feed")]
    public void A_colon_that_starts_the_text_ends_an_empty_scheme_and_one_after_an_at_is_a_ports(string text, string expected)
    {
        ShouldRemove(text, expected);
    }

    [Theory]
    [InlineData("Feed: https://user:token@host/", "Feed: https://host/")]
    [InlineData("a:b//user:token@host", "a:b//host")]
    public void A_double_slash_after_a_colon_starts_an_authority_even_when_the_colon_starts_no_url(string text, string expected)
    {
        // Uri reads "Feed:" as the scheme and finds no user information; the scan after the colon stops at the first slash.
        ShouldRemove(text, expected);
    }

    [Theory]
    [InlineData("token@host/feed", "host/feed")]
    [InlineData("token@host/", "host/")]
    [InlineData("token@host/a:b", "host/a:b")]
    [InlineData("token@host:8080/feed", "host:8080/feed")]
    [InlineData("user:token@host/feed", "user:host/feed")]
    [InlineData("token@host//x", "host//x")]
    [InlineData("@host/feed", "host/feed")]
    [InlineData("token@host/a@b", "host/a@b")]
    [InlineData("?token@host", "?token@host")]
    public void A_text_without_a_scheme_loses_the_user_information_of_its_first_segment_and_nothing_after_it(string text, string expected)
    {
        // The slash that ends the text, the colon after the first slash and the port's colon after an @ start no
        // authority; the @ in the path stays, and so does one after a "?" that starts the text.
        ShouldRemove(text, expected);
    }

    [Theory]
    [InlineData("/team@example/feed")]
    [InlineData(@"\team@example\feed")]
    [InlineData("/")]
    [InlineData("//")]
    [InlineData("https://")]
    [InlineData("https://HOST/feed")]
    public void A_path_an_empty_authority_or_a_url_without_user_information_is_kept_exactly(string text)
    {
        ShouldRemove(text, text);
    }

    [Theory]
    [InlineData("HTTPS://user:token@HOST/feed", "HTTPS://HOST/feed")]
    [InlineData(@"https:/\user:token@HOST/feed", @"https:/\HOST/feed")]
    [InlineData("https://user:token@host:8443/feed", "https://host:8443/feed")]
    public void A_valid_url_keeps_its_own_spelling_once_its_user_information_is_gone(string text, string expected)
    {
        // Uri would rewrite these (lower case, "/" for "\", and so on) if it were handed them with user information.
        ShouldRemove(text, expected);
    }

    [Theory]
    [InlineData("https:user:p?ss@host/feed", "https:host/feed")]
    [InlineData("a//user:p?ss@host", "host")]
    [InlineData("https://user:token@ho st/a@b", "https://b")]
    [InlineData("@", "")]
    public void A_text_no_parser_takes_loses_everything_from_its_authority_to_its_last_at(string text, string expected)
    {
        // The scans stop at the "?" (a valid authority would end there); the text is no URL, so the @ after it may
        // be the end of a password, and everything up to it goes, the path's @ included.
        ShouldRemove(text, expected);
    }
}

using MediatR;
using Seq.Application.Auditing;

namespace Seq.Tests.Auditing;

[Audited("Test", "Redact")]
public sealed record RedactedLocationRequest([property: AuditProperty(Redact = AuditRedaction.UrlUserInfo)] string? Location, [property: AuditProperty] string? Plain)
    : IRequest<Unit>;

[Audited("Test", "Misdeclared")]
public sealed record MisdeclaredRedactionRequest([property: AuditProperty(Redact = AuditRedaction.UrlUserInfo)] int Port) : IRequest<Unit>;

public sealed class AuditRedactionTests
{
    [Theory]
    [InlineData("https://user:token@host/feed", "https://host/feed")]
    [InlineData("https://token@host:8443/feed?x=1", "https://host:8443/feed?x=1")]
    [InlineData("https://user:p@ss@host/", "https://host/")]
    [InlineData(@"https:\\user:token@host\feed", @"https:\\host\feed")]
    [InlineData("https:user:token@host/feed", "https:host/feed")]
    [InlineData("  https://user:token@host/feed", "  https://host/feed")]
    [InlineData("//user:token@host/share", "//host/share")]
    [InlineData("ht\ttps://user:token@host/feed", "ht\ttps://host/feed")]
    [InlineData("https://user:p?ss@host/feed", "https://host/feed")]
    [InlineData("https://user:p#ss@host/feed", "https://host/feed")]
    [InlineData("https://user:p/ss@host/feed", "https://host/feed")]
    [InlineData("https://host/feed?owner=a@b#c@d", "https://host/feed?owner=a@b#c@d")]
    [InlineData("https://host/@scope/feed", "https://host/@scope/feed")]
    [InlineData("/srv/nuget/team@example", "/srv/nuget/team@example")]
    [InlineData("/srv/nuget//team@example", "/srv/nuget//team@example")]
    [InlineData("", "")]
    [InlineData(null, null)]
    public void User_information_is_taken_out_of_a_url_however_it_is_written_and_nothing_else_is(string? text, string? expected)
    {
        UrlUserInfo.Remove(text).ShouldBe(expected);
        UrlUserInfo.IsPresent(text).ShouldBe(text != expected);
    }

    [Fact]
    public void An_audit_property_declared_with_url_redaction_reaches_every_event_without_user_information()
    {
        var operation = AuditedOperation.Of(typeof(RedactedLocationRequest))!;

        var properties = operation.PropertiesOf(new RedactedLocationRequest("https://user:token@host/feed", "https://user:token@host/feed"));

        properties.ShouldBe([new("Location", "https://host/feed"), new("Plain", "https://user:token@host/feed")]);
    }

    [Fact]
    public void Url_redaction_of_a_property_that_is_not_text_is_refused_when_the_operation_is_first_described()
    {
        Should.Throw<InvalidOperationException>(() => AuditedOperation.Of(typeof(MisdeclaredRedactionRequest)));
    }
}

using FluentValidation;
using Seq.Application.Auditing;
using Seq.Application.Pipeline;
using Seq.Domain.Feeds;

namespace Seq.Application.Feeds;

/// <summary>The rules for a feed's fields, shared by creating and updating one.</summary>
public sealed class NuGetFeedFieldsValidator : AbstractValidator<INuGetFeedFields>
{
    public NuGetFeedFieldsValidator()
    {
        Include(new Seq.Application.Pipeline.UnsupportedFieldsValidator());
        RuleFor(c => c.Name).NotEmpty().WithMessage("A feed needs a name.")
            .MaximumLength(NuGetFeed.MaximumNameLength).WithMessage($"A feed's name may be at most {NuGetFeed.MaximumNameLength} characters long.")
            .Must(NoControlCharacters).WithMessage("A feed's name may not contain control characters.");
        RuleFor(c => c.Location).Must(NuGetFeed.IsValidLocation)
            .WithMessage("A feed's location must be an http or https URL, or the full path of a local folder.")
            .Must(NoControlCharacters).WithMessage("A feed's location may not contain control characters.")
            .Must(l => !UrlUserInfo.IsPresent(l))
            .WithMessage("A feed's location may not carry credentials (user information before the host); give them as Username and NewPassword.");
        RuleFor(c => c.Username).MaximumLength(NuGetFeed.MaximumUsernameLength)
            .WithMessage($"A feed's username may be at most {NuGetFeed.MaximumUsernameLength} characters long.")
            .Must(NoControlCharacters).WithMessage("A feed's username may not contain control characters.");
        RuleFor(c => c.Password).MaximumLength(NuGetFeed.MaximumPasswordLength)
            .WithMessage($"A feed's password may be at most {NuGetFeed.MaximumPasswordLength} characters long.");
    }

    static bool NoControlCharacters(string? value) => value is null || !value.Any(char.IsControl);
}

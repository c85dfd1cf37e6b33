using FluentValidation;
using Seq.Application.Pipeline;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

/// <summary>The shape of a key's fields, shared by creating and updating one.</summary>
public sealed class ApiKeyFieldsValidator : AbstractValidator<IApiKeyFields>
{
    public ApiKeyFieldsValidator()
    {
        Include(new UnsupportedFieldsValidator());
        RuleFor(c => c.Title).Must(t => !string.IsNullOrWhiteSpace(t)).WithMessage("An API key needs a title.")
            .Must(t => t is null || t.Trim().Length <= ApiKey.MaximumTitleLength)
            .WithMessage($"An API key's title may be at most {ApiKey.MaximumTitleLength} characters long.")
            .Must(t => t is null || !t.Trim().Any(char.IsControl)).WithMessage("An API key's title may not contain control characters.");

        RuleFor(c => c.Permissions).Must(p => p is { Count: > 0 }).WithMessage("An API key needs at least one permission.");
        RuleForEach(c => c.Permissions).Must(p => p.Parsed is not null)
            .WithMessage((_, p) => $"There is no permission named {p}; the permissions are {string.Join(", ", Enum.GetNames<Permission>())}.");

        When(c => c.Input is not null, () =>
        {
            RuleFor(c => c.Input!.MinimumLevel).Must(l => l is null || ApiKey.CanonicalLevel(l) is not null)
                .WithMessage($"A minimum level must be one of {string.Join(", ", ApiKey.Levels)}.");
            RuleFor(c => c.Input!.AppliedProperties).NotNull().WithMessage("An API key's applied properties must be a list.");
            RuleForEach(c => c.Input!.AppliedProperties).Must(p => p is not null && !string.IsNullOrWhiteSpace(p.Name))
                .WithMessage("An applied property needs a name.")
                .Must(p => p?.Name is null || p.Name.Trim().Length <= ApiKey.MaximumPropertyNameLength)
                .WithMessage($"An applied property's name may be at most {ApiKey.MaximumPropertyNameLength} characters long.")
                .Must(p => p?.Name is null || !p.Name.Trim().Any(char.IsControl))
                .WithMessage("An applied property's name may not contain control characters.")
                .Must(p => p is null || p.ValueIsScalar)
                .WithMessage("An applied property's value must be a string, a number, true, false or null.");
            RuleFor(c => c.Input!.AppliedProperties)
                .Must(ps => ps is null || ps.Where(p => p?.Name is not null).GroupBy(p => p!.Name!.Trim(), StringComparer.Ordinal).All(g => g.Count() == 1))
                .WithMessage("Each applied property may be given only once.");
            RuleFor(c => c.Input!.Filter)
                .Must(f => f is null || (f.Filter?.Length ?? 0) <= ApiKey.MaximumFilterLength && (f.FilterNonStrict?.Length ?? 0) <= ApiKey.MaximumFilterLength
                    && (f.Description?.Length ?? 0) <= ApiKey.MaximumFilterLength)
                .WithMessage($"A filter and its description may be at most {ApiKey.MaximumFilterLength} characters long.");
        });
    }
}

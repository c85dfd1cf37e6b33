using FluentValidation;
using Seq.Application.Filtering;
using Seq.Application.Pipeline;
using Seq.Domain.Signals;

namespace Seq.Application.Signals;

/// <summary>The rules for a signal's fields, shared by creating and updating one. Every filter must parse (the error names its position).</summary>
public sealed class SignalFieldsValidator : AbstractValidator<ISignalFields>
{
    public SignalFieldsValidator()
    {
        RuleFor(c => c.Title).NotEmpty().WithMessage("A signal needs a title.")
            .Must(t => t is null || t.Trim().Length <= SignalFields.MaximumTitleLength).WithMessage($"A signal's title may be at most {SignalFields.MaximumTitleLength} characters long.")
            .Must(NoControlCharacters).WithMessage("A signal's title may not contain control characters.");
        RuleFor(c => c.Description).MaximumLength(SignalFields.MaximumDescriptionLength)
            .WithMessage($"A signal's description may be at most {SignalFields.MaximumDescriptionLength} characters long.");
        RuleFor(c => c.Grouping).IsInEnum().WithMessage("A signal's grouping must be Inferred, Explicit or None.");
        RuleFor(c => c.ExplicitGroupName).NotEmpty().When(c => c.Grouping == SignalGrouping.Explicit)
            .WithMessage("A signal grouped explicitly needs an ExplicitGroupName.")
            .MaximumLength(SignalFields.MaximumTitleLength).WithMessage($"A signal's group name may be at most {SignalFields.MaximumTitleLength} characters long.");
        RuleFor(c => c.Filters).Must(f => f is null || f.Count <= SignalFields.MaximumFilters)
            .WithMessage($"A signal may have at most {SignalFields.MaximumFilters} filters.");
        RuleFor(c => c.Columns).Must(c => c is null || c.Count <= SignalFields.MaximumColumns)
            .WithMessage($"A signal may have at most {SignalFields.MaximumColumns} columns.");
        RuleFor(c => c.Columns).Must(c => c is null || c.All(column => column is not null && !string.IsNullOrWhiteSpace(column.Expression) && column.Expression.Length <= SignalFields.MaximumExpressionLength))
            .WithMessage($"Each column of a signal needs an expression of at most {SignalFields.MaximumExpressionLength} characters.");
        RuleFor(c => c.Filters).Custom((filters, context) =>
        {
            for (var i = 0; i < (filters?.Count ?? 0); i++)
            {
                var filter = filters![i];
                if (filter is null || string.IsNullOrWhiteSpace(filter.Strict))
                {
                    context.AddFailure($"Filter {i + 1} of the signal has no Filter.");
                    continue;
                }
                if (filter.Description?.Length > SignalFields.MaximumTitleLength)
                    context.AddFailure($"The description of filter {i + 1} may be at most {SignalFields.MaximumTitleLength} characters long.");
                if (filter.FilterNonStrict?.Length > SignalFields.MaximumExpressionLength)
                    context.AddFailure($"The FilterNonStrict of filter {i + 1} may be at most {SignalFields.MaximumExpressionLength} characters long.");
                try
                {
                    FilterParser.Parse(filter.Strict!);
                }
                catch (FilterSyntaxException e)
                {
                    context.AddFailure($"Filter {i + 1} of the signal: {e.Message}");
                }
            }
        });
    }

    static bool NoControlCharacters(string? value) => value is null || !value.Any(char.IsControl);
}

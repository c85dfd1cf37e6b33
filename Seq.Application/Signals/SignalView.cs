using FluentValidation;
using Seq.Application.Auditing;
using Seq.Application.Filtering;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;
using Seq.Domain.Signals;

namespace Seq.Application.Signals;

/// <summary>A signal as callers and the search see it.</summary>
public sealed record SignalView(string Id, string? OwnerId, SignalDefinition Definition) : IAuditedResult
{
    public IEnumerable<KeyValuePair<string, object?>> AuditProperties => [new("SignalId", Id)];
}

/// <summary>The signals projection. Search reads a signal's filters through <see cref="GetAsync"/>.</summary>
public interface ISignalsReadModel
{
    Task<SignalView?> GetAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<SignalView>> ListAsync(CancellationToken cancellationToken);
}

/// <summary>Who may see and change which signals (issue 13): shared ones need Write to change, protected ones Project; personal ones are their owner's.</summary>
public static class SignalAccess
{
    public static bool CanSee(Principal principal, string? ownerId) =>
        ownerId is null || ownerId == principal.UserId || principal.Has(Permission.System);

    public static NotFoundException NotFound(string id) => new($"There is no signal with id {id}.");

    /// <summary>Refuses a change to a signal owned by <paramref name="ownerId"/> that is or becomes protected as given.</summary>
    public static void RequireChangeable(Principal principal, string? ownerId, bool isProtected)
    {
        if (ownerId is not null && ownerId != principal.UserId)
            throw new AccessDeniedException("A personal signal can only be changed by its owner.");
        if (ownerId is null && !principal.Has(Permission.Write))
            throw new AccessDeniedException("Changing a shared signal requires the Write permission.");
        if (isProtected && !principal.Has(Permission.Project))
            throw new AccessDeniedException("Changing a protected signal, or protecting one, requires the Project permission.");
    }
}

/// <summary>The fields a request sets on a signal.</summary>
public interface ISignalFields
{
    string? Title { get; }
    string? Description { get; }
    IReadOnlyList<SignalFilterFields>? Filters { get; }
    IReadOnlyList<SignalColumn>? Columns { get; }
    SignalGrouping Grouping { get; }
    string? ExplicitGroupName { get; }
    bool IsProtected { get; }
    bool IsIndexSuppressed { get; }
}

/// <summary>A filter as a request gives it; <see cref="Filter"/> may be left out when <see cref="FilterNonStrict"/> is given.</summary>
public sealed record SignalFilterFields(string? Description, bool DescriptionIsExcluded, string? Filter, string? FilterNonStrict)
{
    public string? Strict => string.IsNullOrWhiteSpace(Filter) ? FilterNonStrict : Filter;
}

public static class SignalFields
{
    public const int MaximumTitleLength = 256;
    public const int MaximumDescriptionLength = 4096;
    public const int MaximumFilters = 100;
    public const int MaximumColumns = 100;
    public const int MaximumExpressionLength = FilterParser.MaximumLength;

    public static SignalDefinition ToDefinition(this ISignalFields fields) => new(
        fields.Title!.Trim(),
        string.IsNullOrWhiteSpace(fields.Description) ? null : fields.Description,
        [.. (fields.Filters ?? []).Select(f => new SignalFilter(f.Description, f.DescriptionIsExcluded, f.Strict!, f.FilterNonStrict))],
        [.. fields.Columns ?? []],
        fields.Grouping,
        fields.Grouping == SignalGrouping.Explicit ? fields.ExplicitGroupName?.Trim() : null,
        fields.IsProtected,
        fields.IsIndexSuppressed);
}

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

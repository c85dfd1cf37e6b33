using Seq.Application.Filtering;
using Seq.Domain.Signals;

namespace Seq.Application.Signals;

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

using Seq.Application.Pipeline;
using Seq.Domain.Signals;

namespace Seq.Application.Signals;

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

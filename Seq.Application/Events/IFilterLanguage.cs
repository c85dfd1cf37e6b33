namespace Seq.Application.Events;

/// <summary>
/// The filter language as log events use it: parsing (a bad filter is a validation error naming the position) and
/// the in-memory back-end, for ingestion filters. Parsed filters are opaque here; storage translates them to SQL.
/// </summary>
public interface IFilterLanguage
{
    /// <exception cref="FluentValidation.ValidationException">The text is not a filter.</exception>
    object Parse(string filter);

    /// <summary>Like <see cref="Parse"/>, for filters that are parsed again and again (a key's input filter).</summary>
    object ParseCached(string filter);

    bool Matches(object filter, LogEvent logEvent);
}

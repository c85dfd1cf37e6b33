using System.Collections.Concurrent;

namespace Seq.Application.Filtering;

/// <summary>
/// Parsed filters by their text, so that a search repeated (a dashboard refreshing, a client paging, a signal's filters,
/// every user's view filter) is parsed once; the tree is immutable, and its SQL translation is cached against it
/// (FilterSql). Bounded: when full, it starts again empty, which costs only re-parsing. A text that does not parse is
/// not kept, so that bad input cannot fill it.
/// </summary>
public sealed class ParsedFilterCache
{
    public const int Capacity = 1024;

    readonly ConcurrentDictionary<string, FilterExpression> _filters = new(StringComparer.Ordinal);

    public int Count => _filters.Count;

    public FilterExpression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_filters.TryGetValue(text, out var cached))
            return cached;

        var parsed = FilterParser.Parse(text);
        if (_filters.Count >= Capacity)
            _filters.Clear();
        return _filters.GetOrAdd(text, parsed);
    }
}

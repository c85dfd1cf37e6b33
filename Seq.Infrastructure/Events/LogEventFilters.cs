using System.Collections.Concurrent;
using FluentValidation;
using FluentValidation.Results;
using Npgsql;
using Seq.Application.Events;

namespace Seq.Infrastructure.Events;

/// <summary>The filter language's two back-ends behind the ports that ingestion and search use.</summary>
public sealed class LogEventFilters : IFilterLanguage, ILogEventFilterTranslator
{
    readonly ConcurrentDictionary<string, object> _cache = new(StringComparer.Ordinal);

    public object Parse(string filter) =>
        throw new ValidationException([new ValidationFailure("filter", "Filters are not supported yet.")]);

    public object ParseCached(string filter)
    {
        if (_cache.TryGetValue(filter, out var parsed))
            return parsed;
        parsed = Parse(filter);
        if (_cache.Count < 1000)
            _cache[filter] = parsed;
        return parsed;
    }

    public bool Matches(object filter, LogEvent logEvent) => throw new NotSupportedException();

    public string Translate(object filter, NpgsqlCommand command) => throw new NotSupportedException();
}

using System.Globalization;
using FluentValidation;
using MediatR;
using Seq.Application.Auditing;
using Seq.Application.Filtering;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Application.Signals;
using Seq.Application.Users;
using Seq.Domain.Security;

namespace Seq.Application.Events;

/// <summary>
/// A search of stored log events, newest first, as its query string gave it: each value is text until
/// <see cref="SearchEventsValidator"/> has accepted it. The caller's view filter is always ANDed in as a separate,
/// separately parsed condition, so no filter text can reach outside it.
/// </summary>
[Demands(Permission.Read)]
public sealed record SearchEventsQuery : IRequest<SearchEventsResult>
{
    public const int DefaultCount = 30;
    public const int MaximumCount = 10_000;

    public string? Filter { get; init; }
    public string? Signal { get; init; }
    public string? Count { get; init; }
    public string? FromDateUtc { get; init; }
    public string? ToDateUtc { get; init; }
    public string? AfterId { get; init; }
    public string? StartAtId { get; init; }

    /// <summary>Accepted as a boolean: events always carry their rendered message (rendered at ingestion).</summary>
    public string? Render { get; init; }

    /// <summary>
    /// Accepted as a whole number: it lets a server that scans return a partial page early. This search does not scan
    /// event by event (it reads through indexes, newest first), so it always answers a full page of <see cref="Count"/>.
    /// </summary>
    public string? ShortCircuitAfter { get; init; }

    /// <summary>The names of parameters given more than once, which is refused.</summary>
    public IReadOnlyList<string> Repeated { get; init; } = [];
}

/// <summary>The events found, and the page size asked for (a full page means there may be more).</summary>
public sealed record SearchEventsResult(IReadOnlyList<StoredLogEvent> Events, int Count);

/// <summary>Reads the texts of a search's parameters; the validator and the handler read them the same way.</summary>
public static class SearchParameters
{
    public static bool TryCount(string? text, out int count)
    {
        count = SearchEventsQuery.DefaultCount;
        return text is null || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out count) && count is >= 1 and <= SearchEventsQuery.MaximumCount);
    }

    public static bool TryDate(string? text, out DateTimeOffset? date)
    {
        date = null;
        if (text is null)
            return true;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            return false;
        date = parsed.ToUniversalTime();
        return true;
    }

    public static bool IsBoolean(string? text) => text is null || bool.TryParse(text, out _);

    public static bool IsWholeNumber(string? text) => text is null || int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _);
}

public sealed class SearchEventsValidator : AbstractValidator<SearchEventsQuery>
{
    public SearchEventsValidator(ILogEventReader reader)
    {
        RuleFor(q => q.Repeated).Must(r => r.Count == 0).WithMessage(q => string.Join(" ", q.Repeated.Select(name => $"Give {name} once.")));
        RuleFor(q => q.Count).Must(c => SearchParameters.TryCount(c, out _))
            .WithMessage($"count must be a whole number between 1 and {SearchEventsQuery.MaximumCount}.").OverridePropertyName("count");
        RuleFor(q => q.FromDateUtc).Must(d => SearchParameters.TryDate(d, out _)).WithMessage("fromDateUtc must be an ISO 8601 date and time.").OverridePropertyName("fromDateUtc");
        RuleFor(q => q.ToDateUtc).Must(d => SearchParameters.TryDate(d, out _)).WithMessage("toDateUtc must be an ISO 8601 date and time.").OverridePropertyName("toDateUtc");
        RuleFor(q => q.AfterId).Must(id => id is null || reader.IsEventId(id)).WithMessage("afterId is not the id of an event.").OverridePropertyName("afterId");
        RuleFor(q => q.StartAtId).Must(id => id is null || reader.IsEventId(id)).WithMessage("startAtId is not the id of an event.").OverridePropertyName("startAtId");
        RuleFor(q => q.Render).Must(SearchParameters.IsBoolean).WithMessage("render must be true or false.").OverridePropertyName("render");
        RuleFor(q => q.ShortCircuitAfter).Must(SearchParameters.IsWholeNumber).WithMessage("shortCircuitAfter must be a whole number.").OverridePropertyName("shortCircuitAfter");
    }
}

/// <summary>One event by id, under the caller's view filter (an event outside it is not found).</summary>
[Demands(Permission.Read)]
public sealed record GetEventQuery(string Id) : IRequest<StoredLogEvent>
{
    /// <summary>Accepted as a boolean, as for a search.</summary>
    public string? Render { get; init; }

    public IReadOnlyList<string> Repeated { get; init; } = [];
}

public sealed class GetEventValidator : AbstractValidator<GetEventQuery>
{
    public GetEventValidator()
    {
        RuleFor(q => q.Repeated).Must(r => r.Count == 0).WithMessage(q => string.Join(" ", q.Repeated.Select(name => $"Give {name} once.")));
        RuleFor(q => q.Render).Must(SearchParameters.IsBoolean).WithMessage("render must be true or false.").OverridePropertyName("render");
    }
}

sealed class SearchEventsHandler(ILogEventReader reader, ViewFilters viewFilters, ParsedFilterCache parsed, IAuditLog audit, OperationContext operation, ISignalsReadModel signals)
    : IRequestHandler<SearchEventsQuery, SearchEventsResult>
{
    public async Task<SearchEventsResult> Handle(SearchEventsQuery request, CancellationToken cancellationToken)
    {
        SearchParameters.TryCount(request.Count, out var count);
        SearchParameters.TryDate(request.FromDateUtc, out var from);
        SearchParameters.TryDate(request.ToDateUtc, out var to);

        var filters = new List<FilterExpression>(await viewFilters.OfCallerAsync(cancellationToken));
        if (!string.IsNullOrWhiteSpace(request.Filter))
            filters.Add(parsed.Parse(request.Filter));
        if (!string.IsNullOrWhiteSpace(request.Signal))
        {
            foreach (var signalId in request.Signal.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var signal = await signals.GetAsync(signalId, cancellationToken);
                if (signal is null || !SignalAccess.CanSee(operation.Principal, signal.OwnerId))
                    throw new NotFoundException($"There is no signal {signalId}.");
                filters.AddRange(signal.Definition.Filters.Where(f => !string.IsNullOrWhiteSpace(f.Filter)).Select(f => parsed.Parse(f.Filter)));
            }
        }

        if (audit.IsEnabled)
            await audit.WriteAsync(new AuditEntry(AuditCatalogue.EventSearch.Category, AuditCatalogue.EventSearch.Operation, AuditEventKind.Advise, Guid.NewGuid(),
                "Searched events with filter {Filter}",
                [new("Filter", request.Filter), new("Signal", request.Signal), new("FromDateUtc", from), new("ToDateUtc", to), new("Count", count)]),
                cancellationToken);

        var events = await reader.SearchAsync(new LogEventQuery(count, from, to, request.AfterId, filters, request.StartAtId), cancellationToken);
        return new SearchEventsResult(events, count);
    }
}

sealed class GetEventHandler(ILogEventReader reader, ViewFilters viewFilters) : IRequestHandler<GetEventQuery, StoredLogEvent>
{
    public async Task<StoredLogEvent> Handle(GetEventQuery request, CancellationToken cancellationToken) =>
        await reader.FindAsync(request.Id, await viewFilters.OfCallerAsync(cancellationToken), cancellationToken)
        ?? throw new NotFoundException($"There is no event {request.Id}.");
}

/// <summary>The view filter of the user the caller acts as (a personal key acts as its owner), parsed.</summary>
public sealed class ViewFilters(IUserReadModel users, OperationContext operation, ParsedFilterCache parsed)
{
    public async Task<IReadOnlyList<FilterExpression>> OfCallerAsync(CancellationToken cancellationToken)
    {
        if (operation.Principal.UserId is not { } userId)
            return [];
        var user = await users.FindAsync(userId, cancellationToken);
        return user?.ViewFilter is { Filter: { } filter } && !string.IsNullOrWhiteSpace(filter) ? [parsed.Parse(filter)] : [];
    }
}

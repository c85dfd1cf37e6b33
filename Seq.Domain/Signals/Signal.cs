namespace Seq.Domain.Signals;

public enum SignalGrouping
{
    Inferred,
    Explicit,
    None,
}

/// <summary>One filter of a signal: <see cref="Filter"/> is the strict expression, <see cref="FilterNonStrict"/> what the user typed.</summary>
public sealed record SignalFilter(string? Description, bool DescriptionIsExcluded, string Filter, string? FilterNonStrict);

public sealed record SignalColumn(string Expression);

/// <summary>Everything about a signal that a change may replace; its id and owner never change.</summary>
public sealed record SignalDefinition(
    string Title,
    string? Description,
    IReadOnlyList<SignalFilter> Filters,
    IReadOnlyList<SignalColumn> Columns,
    SignalGrouping Grouping,
    string? ExplicitGroupName,
    bool IsProtected,
    bool IsIndexSuppressed)
{
    public bool Equals(SignalDefinition? other) =>
        other is not null && Title == other.Title && Description == other.Description && Filters.SequenceEqual(other.Filters) &&
        Columns.SequenceEqual(other.Columns) && Grouping == other.Grouping && ExplicitGroupName == other.ExplicitGroupName &&
        IsProtected == other.IsProtected && IsIndexSuppressed == other.IsIndexSuppressed;

    public override int GetHashCode() => HashCode.Combine(Title, Filters.Count, Grouping, IsProtected);
}

/// <summary>
/// A named set of filters that picks out part of the event stream. A signal with no owner is shared; one with an
/// owner is that user's personal signal.
/// </summary>
public sealed class Signal : IEventSourced
{
    public const string StreamType = "Signal";
    public const string StreamCategory = "signals";

    /// <summary>The shared "Warnings" signal every instance has from its first start (Seq uses the same id).</summary>
    public const string WarningsId = "signal-m33302";

    public string Id { get; private set; } = "";
    public string? OwnerId { get; private set; }
    public SignalDefinition? Definition { get; private set; }
    public bool Exists { get; private set; }

    public static string StreamIdFor(string signalId) => StreamIds.For(StreamCategory, signalId);

    public static SignalCreated Create(string signalId, string? ownerId, SignalDefinition definition, DateTimeOffset now) =>
        new(signalId, ownerId, definition, now);

    /// <summary>Decides a change; one that changes nothing yields no events.</summary>
    public IReadOnlyList<IDomainEvent> Change(SignalDefinition definition, DateTimeOffset now)
    {
        if (!Exists)
            throw new DomainException($"The signal {Id} has been removed.");
        return definition.Equals(Definition) ? [] : [new SignalChanged(Id, definition, now)];
    }

    public IReadOnlyList<IDomainEvent> Remove(DateTimeOffset now) => Exists ? [new SignalRemoved(Id, now)] : [];

    public void Apply(IDomainEvent @event)
    {
        switch (@event)
        {
            case SignalCreated e:
                (Id, OwnerId, Definition, Exists) = (e.SignalId, e.OwnerId, e.Definition, true);
                break;
            case SignalChanged e:
                Definition = e.Definition;
                break;
            case SignalRemoved:
                Exists = false;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, null);
        }
    }

    /// <summary>The Warnings signal as the first start creates it.</summary>
    public static SignalDefinition WarningsDefinition { get; } = new(
        "Warnings",
        "Events at the Warning level",
        [new SignalFilter(null, false, "@Level in ['w', 'wrn', 'warn', 'warning'] ci", null)],
        [],
        SignalGrouping.Explicit,
        "@Level",
        IsProtected: false,
        IsIndexSuppressed: false);
}

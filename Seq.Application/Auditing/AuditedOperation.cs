using System.Collections.Concurrent;
using System.Reflection;
using Seq.Application.Pipeline;

namespace Seq.Application.Auditing;

/// <summary>An audited request type as the audit log sees it: its name, templates and allow-listed properties.</summary>
public sealed class AuditedOperation
{
    static readonly ConcurrentDictionary<Type, AuditedOperation?> Cache = new();

    readonly (PropertyInfo Property, string Name, AuditRedaction Redact)[] _properties;

    AuditedOperation(Type requestType, AuditedAttribute audited)
    {
        RequestType = requestType;
        Category = audited.Category;
        Name = audited.Operation;
        Single = audited.Single;
        BeginTemplate = audited.BeginTemplate ?? (Single ? $"{Category} {Name}" : $"Beginning {Category} {Name}");
        CompleteTemplate = audited.CompleteTemplate ?? $"{Category} {Name} completed";
        AbandonTemplate = audited.AbandonTemplate ?? $"{Category} {Name} was rejected";
        FailTemplate = $"{Category} {Name} failed";
        FailAfterCommitTemplate = $"{Category} {Name} failed after its change was committed";
        FailUncertainTemplate = $"{Category} {Name} failed and its change may have been committed";
        _properties =
        [
            .. requestType.GetProperties()
                .Select(p => (Property: p, Attribute: p.GetCustomAttribute<AuditPropertyAttribute>()))
                .Where(p => p.Attribute is not null)
                .Select(p => (p.Property, p.Attribute!.Name ?? p.Property.Name, p.Attribute.Redact)),
        ];
        if (_properties.FirstOrDefault(p => p.Redact == AuditRedaction.UrlUserInfo && p.Property.PropertyType != typeof(string)) is { Property: { } misdeclared })
            throw new InvalidOperationException($"{requestType.Name}.{misdeclared.Name} is not text, so it cannot be recorded without URL user information.");
    }

    public Type RequestType { get; }
    public string Category { get; }
    public string Name { get; }
    public bool Single { get; }
    public string BeginTemplate { get; }
    public string CompleteTemplate { get; }
    public string AbandonTemplate { get; }
    public string FailTemplate { get; }
    public string FailAfterCommitTemplate { get; }
    public string FailUncertainTemplate { get; }
    public IEnumerable<string> PropertyNames => _properties.Select(p => p.Name);

    public static AuditedOperation? Of(Type requestType) =>
        Cache.GetOrAdd(requestType, type => type.GetCustomAttribute<AuditedAttribute>() is { } audited ? new AuditedOperation(type, audited) : null);

    public IReadOnlyList<KeyValuePair<string, object?>> PropertiesOf(object request) =>
        [.. _properties.Select(p => new KeyValuePair<string, object?>(p.Name, Redacted(p.Redact, p.Property.GetValue(request))))];

    static object? Redacted(AuditRedaction redact, object? value) => redact switch
    {
        AuditRedaction.UrlUserInfo => UrlUserInfo.Remove((string?)value),
        _ => value,
    };

    public AuditEntry Opening(Guid operationId, IReadOnlyList<KeyValuePair<string, object?>> properties) =>
        new(Category, Name, Single ? AuditEventKind.Record : AuditEventKind.Begin, operationId, BeginTemplate, properties);

    public AuditEntry Completing(Guid operationId, IReadOnlyList<KeyValuePair<string, object?>> properties, IAuditedResult? result) =>
        new(Category, Name, AuditEventKind.Complete, operationId, CompleteTemplate, [.. properties, .. result?.AuditProperties ?? []]);

    public AuditEntry Abandoning(Guid operationId, Exception rejection) =>
        new(Category, Name, AuditEventKind.Abandon, operationId, AbandonTemplate, [], $"{rejection.GetType().FullName}: {rejection.Message}");

    public AuditEntry Failing(Guid operationId, Exception failure) =>
        new(Category, Name, AuditEventKind.Fail, operationId, FailTemplate, [], failure.ToString());

    /// <summary>A failure once the operation's change had committed (or may have): the change stands, and the event says so.</summary>
    public AuditEntry FailingAfter(Guid operationId, Exception failure, OperationEffect effect) =>
        new(Category, Name, AuditEventKind.Fail, operationId,
            effect == OperationEffect.Committed ? FailAfterCommitTemplate : FailUncertainTemplate,
            [new(EffectProperty, effect.ToString())], failure.ToString());

    /// <summary>On a Fail after the operation's change committed (<c>Committed</c>) or may have (<c>Uncertain</c>).</summary>
    public const string EffectProperty = "Effect";
}

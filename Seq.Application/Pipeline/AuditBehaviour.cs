using System.Collections.Concurrent;
using System.Reflection;
using FluentValidation;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain;

namespace Seq.Application.Auditing;

/// <summary>
/// The outermost behaviour: for an audited request, the blocking Begin (or Record) is durable before
/// authorization, validation and the handler run; if it cannot be, nothing runs. Then Complete, Abandon (the request
/// was refused) or Fail (something broke) follows with the same OperationId.
/// </summary>
sealed class AuditBehaviour<TRequest, TResponse>(IAuditLog audit, OperationContext operation) : IPipelineBehavior<TRequest, TResponse>
{
    static readonly AuditedOperation? Operation = AuditedOperation.Of(typeof(TRequest));

    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (Operation is null || !audit.IsEnabled)
            return await next();

        var operationId = Guid.NewGuid();
        operation.AuditOperationId = operationId.ToString();
        var properties = Operation.PropertiesOf(request!);
        try
        {
            await audit.WriteAsync(Operation.Opening(operationId, properties), cancellationToken);
        }
        catch (Exception e) when (e is AuditUnavailableException or OperationCanceledException)
        {
            // An opening event that was queued (whether or not it became durable, or the client waited for it) is
            // followed by its abandonment: nothing ran. One refused before it was queued has nothing to close.
            if (e is not AuditUnavailableException { OpeningRecorded: false })
                await audit.WriteAsync(Operation.Abandoning(operationId, e), CancellationToken.None);
            throw;
        }

        TResponse response;
        try
        {
            response = await next();
        }
        catch (Exception e) when (Operation.Single is false)
        {
            await audit.WriteAsync(Closing(operationId, e), CancellationToken.None);
            throw;
        }

        if (!Operation.Single)
            await audit.WriteAsync(Operation.Completing(operationId, properties, response as IAuditedResult), CancellationToken.None);
        return response;
    }

    /// <summary>
    /// An Abandon says that nothing changed, so it is written only when no append of the operation may have
    /// committed; after that, whatever the exception (a cancellation included), it is a Fail that says so.
    /// </summary>
    AuditEntry Closing(Guid operationId, Exception e) => operation.Effect switch
    {
        OperationEffect.None => IsRejection(e) ? Operation!.Abandoning(operationId, e) : Operation!.Failing(operationId, e),
        var effect => Operation!.FailingAfter(operationId, e, effect),
    };

    /// <summary>The request was refused (by validation, authorization, a rule of the domain or a bad password), rather than broken.</summary>
    public static bool IsRejection(Exception e) => e is ValidationException or DomainException or AccessDeniedException
        or AuthenticationRequiredException or NotFoundException or ConcurrencyException or UniquenessConflictException
        or TooManyAttemptsException or ServerBusyException or OperationCanceledException;
}

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

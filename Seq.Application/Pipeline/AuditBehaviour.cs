using FluentValidation;
using MediatR;
using Seq.Application.Auditing;
using Seq.Application.EventSourcing;
using Seq.Application.Security;
using Seq.Domain;

namespace Seq.Application.Pipeline;

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

using Seq.Application.Pipeline;
using Seq.Application.Auditing;
using FluentValidation;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Security;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

/// <summary>
/// Replaces a key's title and permissions, and its input settings unless <paramref name="InputSettings"/> is null.
/// A key's token and owner never change.
/// </summary>
[Demands(Permission.Write)]
[Audited("ApiKey", "Update", BeginTemplate = "Beginning update of API key {ApiKeyId}")]
public sealed record UpdateApiKeyCommand(
    [property: AuditProperty(Name = "ApiKeyId")] string Id, [property: AuditProperty] string? Title,
    [property: AuditProperty(Name = "AssignedPermissions")] IReadOnlyList<RequestedPermission>? Permissions, RequestedInputSettings? Input)
    : IRequest<ApiKeyView>, IApiKeyFields
{
    /// <summary>The id the request body names, if any; it must be the one the address names.</summary>
    public string? BodyId { get; init; }

    /// <summary>Whether the request carried a token, which is refused: a key's token never changes.</summary>
    public bool TokenSupplied { get; init; }

    /// <summary>Fields of Seq's entity the body gave a value that this server does not support; validation refuses them.</summary>
    public IReadOnlyList<string> UnsupportedFields { get; init; } = [];

    /// <summary>The permissions named, once validation has accepted every name.</summary>
    public IReadOnlyList<Permission>? AssignedPermissions => RequestedPermission.ToPermissions(Permissions);

    /// <summary>The input settings, once validation has accepted them; null leaves the key's as they are.</summary>
    public InputSettings? InputSettings => Input?.ToInputSettings();
}

public sealed class UpdateApiKeyValidator : AbstractValidator<UpdateApiKeyCommand>
{
    public UpdateApiKeyValidator()
    {
        Include(new ApiKeyFieldsValidator());
        RuleFor(c => c.TokenSupplied).Equal(false).WithMessage("An API key's token never changes; create a new key to use another token.");
        RuleFor(c => c.BodyId).Must((c, bodyId) => string.IsNullOrEmpty(bodyId) || bodyId == c.Id)
            .WithMessage(c => $"The body names the API key {c.BodyId} but the address names {c.Id}.");
    }
}

sealed class UpdateApiKeyHandler(IEventStore store, OperationContext operation, TimeProvider clock) : IRequestHandler<UpdateApiKeyCommand, ApiKeyView>
{
    public async Task<ApiKeyView> Handle(UpdateApiKeyCommand request, CancellationToken cancellationToken)
    {
        var streamId = ApiKey.StreamIdFor(request.Id);
        var (key, version) = await store.LoadAsync<ApiKey>(streamId, cancellationToken);
        if (!key.Exists || !ApiKeyAccess.CanSee(operation.Principal, key.OwnerId))
            throw ApiKeyAccess.NotFound(request.Id);

        ApiKeyAccess.RequireHeld(operation.Principal, key, deleting: false);
        ApiKeyAccess.RequireAssignable(operation.Principal, request.AssignedPermissions!);

        var events = key.Change(request.Title!, request.AssignedPermissions!, request.InputSettings ?? key.InputSettings, clock.GetUtcNow());
        if (events.Count > 0)
        {
            await store.AppendAsync(streamId, ApiKey.StreamType, version, events, cancellationToken);
            foreach (var e in events)
                key.Apply(e);
        }
        return new ApiKeyView(key.Id, key.Title, key.TokenPrefix, [.. key.AssignedPermissions.Order()], key.OwnerId, key.InputSettings);
    }
}

using Seq.Application.Auditing;
using FluentValidation;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Security;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;

namespace Seq.Application.ApiKeys;

/// <summary>Creates a key; <paramref name="OwnerId"/> null makes a shared key, otherwise a personal key of that user.</summary>
[Demands(Permission.Write)]
[Audited("ApiKey", "Create", BeginTemplate = "Beginning creation of API key {Title}", CompleteTemplate = "Created API key {Title} as {ApiKeyId}")]
public sealed record CreateApiKeyCommand(
    [property: AuditProperty] string? Title, [property: AuditProperty(Name = "AssignedPermissions")] IReadOnlyList<RequestedPermission>? Permissions,
    [property: AuditProperty] string? OwnerId, RequestedInputSettings? Input)
    : IRequest<CreateApiKeyResult>, IApiKeyFields
{
    public bool TokenSupplied { get; init; }

    /// <summary>The permissions named, once validation has accepted every name.</summary>
    public IReadOnlyList<Permission>? AssignedPermissions => RequestedPermission.ToPermissions(Permissions);

    /// <summary>The input settings, once validation has accepted them; null when the request gives none.</summary>
    public InputSettings? InputSettings => Input?.ToInputSettings();
}

/// <summary>The new key and its token: the only time the token is ever returned.</summary>
public sealed record CreateApiKeyResult(ApiKeyView ApiKey, string Token) : IAuditedResult
{
    public IEnumerable<KeyValuePair<string, object?>> AuditProperties => [new("ApiKeyId", ApiKey.Id), new("TokenPrefix", ApiKey.TokenPrefix)];

    // The token must never reach a log line through a record's generated ToString.
    public override string ToString() => $"{nameof(CreateApiKeyResult)} {{ ApiKey = {ApiKey} }}";
}

public sealed class CreateApiKeyValidator : AbstractValidator<CreateApiKeyCommand>
{
    public CreateApiKeyValidator() => Include(new ApiKeyFieldsValidator());
}

sealed class CreateApiKeyHandler(IEventStore store, IApiKeyTokens tokens, OperationContext operation, TimeProvider clock)
    : IRequestHandler<CreateApiKeyCommand, CreateApiKeyResult>
{
    public async Task<CreateApiKeyResult> Handle(CreateApiKeyCommand request, CancellationToken cancellationToken)
    {
        var principal = operation.Principal;
        ApiKeyAccess.RequireAssignable(principal, request.AssignedPermissions!);
        ApiKeyAccess.RequireOwnerAllowed(principal, request.OwnerId);

        var id = ApiKey.NewId();
        var token = tokens.Generate();
        var created = ApiKey.Create(id, request.Title!, token.Prefix, token.Salt, token.Hash, request.AssignedPermissions!, request.OwnerId,
            request.InputSettings ?? InputSettings.None, clock.GetUtcNow());

        await store.AppendAsync(ApiKey.StreamIdFor(id), ApiKey.StreamType, 0, [created], cancellationToken);
        var view = new ApiKeyView(id, created.Title, created.TokenPrefix, created.AssignedPermissions, created.OwnerId, created.InputSettings);
        return new CreateApiKeyResult(view, token.Token);
    }
}

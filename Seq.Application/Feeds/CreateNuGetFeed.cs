using Seq.Application.Auditing;
using Seq.Domain.Security;
using FluentValidation;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Security;
using Seq.Domain;
using Seq.Domain.Feeds;

namespace Seq.Application.Feeds;

[Demands(Permission.System)]
[Audited("Feed", "Create", BeginTemplate = "Beginning creation of feed {Name}", CompleteTemplate = "Created feed {Name} as {FeedId}")]
public sealed record CreateNuGetFeedCommand(
    [property: AuditProperty] string? Name, [property: AuditProperty(Redact = AuditRedaction.UrlUserInfo)] string? Location, [property: AuditProperty] string? Username,
    string? Password) : IRequest<NuGetFeedView>, INuGetFeedFields
{
    /// <summary>Fields of Seq's entity the body gave a value that this server does not support; validation refuses them.</summary>
    public IReadOnlyList<string> UnsupportedFields { get; init; } = [];

    // The password, or credentials in a location that validation will refuse, must never reach a log line through a record's generated ToString.
    public override string ToString() => $"{nameof(CreateNuGetFeedCommand)} {{ Name = {Name}, Location = {UrlUserInfo.Remove(Location)}, Username = {Username} }}";
}

public sealed class CreateNuGetFeedValidator : AbstractValidator<CreateNuGetFeedCommand>
{
    public CreateNuGetFeedValidator() => Include(new NuGetFeedFieldsValidator());
}

sealed class CreateNuGetFeedHandler(IEventStore store, INuGetFeedReadModel feeds, ISecretProtector protector, TimeProvider clock)
    : IRequestHandler<CreateNuGetFeedCommand, NuGetFeedView>
{
    public async Task<NuGetFeedView> Handle(CreateNuGetFeedCommand request, CancellationToken cancellationToken)
    {
        if (await feeds.FindByNameAsync(request.Name!.Trim(), cancellationToken) is not null)
            throw new DomainException($"A feed named {request.Name.Trim()} already exists.");

        var id = "nugetfeed-" + Guid.NewGuid().ToString("N")[..16];
        var protectedPassword = string.IsNullOrEmpty(request.Password) ? null : protector.Protect(request.Password, SecretPurposes.StoredSecrets);
        var created = NuGetFeed.Create(id, request.Name, request.Location!, request.Username, protectedPassword, clock.GetUtcNow());

        await store.AppendAsync(NuGetFeed.StreamIdFor(id), NuGetFeed.StreamType, 0, [created], cancellationToken);
        return new NuGetFeedView(id, created.Name, created.Location, created.Username, created.ProtectedPassword is not null);
    }
}

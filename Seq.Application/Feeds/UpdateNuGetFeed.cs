using Seq.Application.Auditing;
using Seq.Domain.Security;
using FluentValidation;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Feeds;

namespace Seq.Application.Feeds;

/// <summary>Replaces a feed's name, location and username; <paramref name="Password"/> null leaves the password, "" clears it.</summary>
[Demands(Permission.System)]
[Audited("Feed", "Update", BeginTemplate = "Beginning update of feed {FeedId}")]
public sealed record UpdateNuGetFeedCommand(
    [property: AuditProperty(Name = "FeedId")] string Id, [property: AuditProperty] string? Name, [property: AuditProperty(Redact = AuditRedaction.UrlUserInfo)] string? Location,
    [property: AuditProperty] string? Username, string? Password) : IRequest<NuGetFeedView>, INuGetFeedFields
{
    /// <summary>Fields of Seq's entity the body gave a value that this server does not support; validation refuses them.</summary>
    public IReadOnlyList<string> UnsupportedFields { get; init; } = [];

    /// <summary>The id the request body names, if any; it must be the one the address names.</summary>
    public string? BodyId { get; init; }

    public override string ToString() => $"{nameof(UpdateNuGetFeedCommand)} {{ Id = {Id}, Name = {Name}, Location = {UrlUserInfo.Remove(Location)}, Username = {Username} }}";
}

public sealed class UpdateNuGetFeedValidator : AbstractValidator<UpdateNuGetFeedCommand>
{
    public UpdateNuGetFeedValidator()
    {
        Include(new NuGetFeedFieldsValidator());
        RuleFor(c => c.BodyId).Must((c, bodyId) => string.IsNullOrEmpty(bodyId) || bodyId == c.Id)
            .WithMessage(c => $"The body names the feed {c.BodyId} but the address names {c.Id}.");
    }
}

sealed class UpdateNuGetFeedHandler(IEventStore store, INuGetFeedReadModel feeds, ISecretProtector protector, TimeProvider clock)
    : IRequestHandler<UpdateNuGetFeedCommand, NuGetFeedView>
{
    public async Task<NuGetFeedView> Handle(UpdateNuGetFeedCommand request, CancellationToken cancellationToken)
    {
        var (feed, version) = await store.LoadAsync<NuGetFeed>(NuGetFeed.StreamIdFor(request.Id), cancellationToken);
        if (!feed.Exists)
            throw new NotFoundException($"There is no feed with id {request.Id}.");

        if (await feeds.FindByNameAsync(request.Name!.Trim(), cancellationToken) is { } sameName && sameName.Id != request.Id)
            throw new Seq.Domain.DomainException($"A feed named {request.Name.Trim()} already exists.");

        var password = request.Password switch
        {
            null => PasswordChange.Unchanged,
            "" => PasswordChange.Clear,
            _ => PasswordChange.To(protector.Protect(request.Password, SecretPurposes.StoredSecrets)),
        };
        var events = feed.Change(request.Name, request.Location!, request.Username, password, clock.GetUtcNow());
        if (events.Count > 0)
        {
            await store.AppendAsync(NuGetFeed.StreamIdFor(request.Id), NuGetFeed.StreamType, version, events, cancellationToken);
            foreach (var e in events)
                feed.Apply(e);
        }
        return new NuGetFeedView(feed.Id, feed.Name, feed.Location, feed.Username, feed.ProtectedPassword is not null);
    }
}

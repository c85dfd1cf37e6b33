using Seq.Domain.Security;

namespace Seq.Api.Endpoints;

/// <summary>The permission an endpoint demands, as endpoint metadata; <paramref name="User"/> also requires a user (or a personal key acting for one).</summary>
sealed record DemandsPermission(Permission Permission, bool User);

/// <summary>An endpoint that authenticates its caller itself (login), so any session cookie the request carries is not consulted.</summary>
sealed record IgnoresSession;

/// <summary>An ingestion endpoint: clients that cannot set headers may send their API key as <c>?apiKey=</c>.</summary>
sealed record AcceptsApiKeyInQuery;

static class PermissionDemands
{
    public static TBuilder Demands<TBuilder>(this TBuilder builder, Permission permission, bool user = false) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new DemandsPermission(permission, user));

    /// <summary>
    /// Deny by default: an endpoint that declares no permission is a server that will not start, rather than an
    /// endpoint that is silently open.
    /// </summary>
    public static void EnsureEveryEndpointDemandsAPermission(IEndpointRouteBuilder app)
    {
        var undeclared = app.DataSources
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.Metadata.GetMetadata<DemandsPermission>() is null)
            .Select(endpoint => endpoint.DisplayName ?? endpoint.RoutePattern.RawText)
            .ToList();

        if (undeclared.Count > 0)
            throw new InvalidOperationException(
                "Every endpoint must declare the permission it demands; these declare none: " + string.Join(", ", undeclared));
    }
}

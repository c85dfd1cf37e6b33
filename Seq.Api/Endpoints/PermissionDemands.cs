using Seq.Domain.Security;

namespace Seq.Api.Endpoints;

/// <summary>The permission an endpoint demands, as endpoint metadata.</summary>
sealed record DemandsPermission(Permission Permission);

static class PermissionDemands
{
    public static TBuilder Demands<TBuilder>(this TBuilder builder, Permission permission) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new DemandsPermission(permission));
}

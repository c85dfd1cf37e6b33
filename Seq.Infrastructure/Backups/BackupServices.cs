using Microsoft.Extensions.DependencyInjection;
using Seq.Application.Backups;
using Seq.Infrastructure.EventSourcing;

namespace Seq.Infrastructure.Backups;

public static class BackupServices
{
    /// <summary>Backups into <paramref name="location"/>, and the daily schedule; without a location, none are made.</summary>
    public static IServiceCollection AddBackups(this IServiceCollection services, string? location)
    {
        services.AddSingleton(new BackupOptions(location));
        services.AddSingleton<BackupService>();
        services.AddSingleton<IBackups>(provider => provider.GetRequiredService<BackupService>());
        services.AddSingleton<ProjectionRebuild>();
        if (location is not null)
        {
            services.AddSingleton<BackupSchedule>();
            services.AddHostedService(provider => provider.GetRequiredService<BackupSchedule>());
        }
        return services;
    }
}

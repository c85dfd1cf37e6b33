using System.Collections.Concurrent;
using Seq.Application.ApiKeys;
using Seq.Application.Settings;
using Seq.Domain.ApiKeys;

namespace Seq.Application.Events;

/// <summary>
/// The settings and API key input settings ingestion consults on every request, kept for at most
/// <see cref="Lifetime"/> so that a busy ingestion endpoint does not query them for every batch (ADR 0041). A change
/// made on this node empties the cache as it commits (<see cref="Invalidate"/>), so it holds for the next request; a
/// change made on another node is seen here within <see cref="Lifetime"/>, inside the one second ADR 0039 allows.
/// </summary>
public sealed class IngestionConfiguration(ISettingsReadModel settings, IApiKeyReadModel apiKeys, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMilliseconds(500);

    // Bounded: keys are few, but an entry is made per key id that ingests.
    const int MaximumCachedKeys = 10_000;

    sealed record Cached<T>(T Value, DateTimeOffset Expires);

    readonly ConcurrentDictionary<string, Cached<InputSettings>> _inputs = new(StringComparer.Ordinal);
    volatile Cached<IReadOnlyDictionary<string, string>>? _settings;
    long _generation;

    /// <summary>The settings changed from their defaults, as <see cref="ISettingsReadModel.GetChangedValuesAsync"/> gives them.</summary>
    public async ValueTask<IReadOnlyDictionary<string, string>> GetChangedSettingsAsync(CancellationToken cancellationToken)
    {
        if (_settings is { } cached && cached.Expires > clock.GetUtcNow())
            return cached.Value;
        var generation = Interlocked.Read(ref _generation);
        var expires = clock.GetUtcNow() + Lifetime;
        var values = await settings.GetChangedValuesAsync(cancellationToken);
        // A change that committed while this load ran may not be in it: keep it only if there was none.
        if (Interlocked.Read(ref _generation) == generation)
            _settings = new Cached<IReadOnlyDictionary<string, string>>(values, expires);
        return values;
    }

    /// <summary>The input settings of API key <paramref name="keyId"/>; none for a key that no longer exists.</summary>
    public async ValueTask<InputSettings> GetInputSettingsAsync(string keyId, CancellationToken cancellationToken)
    {
        if (_inputs.TryGetValue(keyId, out var cached) && cached.Expires > clock.GetUtcNow())
            return cached.Value;
        var generation = Interlocked.Read(ref _generation);
        var expires = clock.GetUtcNow() + Lifetime;
        var input = (await apiKeys.FindAsync(keyId, cancellationToken))?.InputSettings ?? InputSettings.None;
        if (_inputs.Count >= MaximumCachedKeys)
            _inputs.Clear();
        if (Interlocked.Read(ref _generation) == generation)
            _inputs[keyId] = new Cached<InputSettings>(input, expires);
        return input;
    }

    /// <summary>Forgets everything: called when a setting or an API key change commits on this node.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _settings = null;
        _inputs.Clear();
    }
}

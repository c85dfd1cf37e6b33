namespace Seq.Application.Signals;

/// <summary>The signals projection. Search reads a signal's filters through <see cref="GetAsync"/>.</summary>
public interface ISignalsReadModel
{
    Task<SignalView?> GetAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<SignalView>> ListAsync(CancellationToken cancellationToken);
}

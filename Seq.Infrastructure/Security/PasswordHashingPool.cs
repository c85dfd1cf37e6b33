using Seq.Application.Security;

namespace Seq.Infrastructure.Security;

/// <summary>
/// Runs <see cref="PasswordHasher"/> on a few dedicated threads fed by a bounded queue. A hash costs a core for a
/// tenth of a second or more: on the thread pool a burst of logins would starve every other request, and an
/// unbounded queue would let that burst grow without limit, so past the capacity a request is refused at once.
/// </summary>
public sealed class PasswordHashingPool : IPasswordHashing, IDisposable
{
    // At a few hashes a second per thread, 64 waiting is already several seconds to tens of seconds of wait; a
    // client told "busy" at once can retry, while one kept waiting longer than that has usually given up.
    public const int DefaultQueueCapacity = 64;

    const string BusyMessage = "The server is busy checking passwords; try again shortly.";

    readonly PasswordHasher _hasher;
    readonly int _queueCapacity;
    readonly LinkedList<WorkItem> _waiting = new();
    readonly Thread[] _threads;
    bool _disposed;

    public PasswordHashingPool(PasswordHasher hasher)
        : this(hasher, DefaultThreads, DefaultQueueCapacity)
    {
    }

    public PasswordHashingPool(PasswordHasher hasher, int threads, int queueCapacity)
    {
        ArgumentNullException.ThrowIfNull(hasher);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);

        _hasher = hasher;
        _queueCapacity = queueCapacity;
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(Work) { Name = $"seq-password-hashing-{i + 1}", IsBackground = true };
            _threads[i].Start();
        }
    }

    /// <summary>Half the processors, so that hashing can never take every core from the rest of the server.</summary>
    public static int DefaultThreads => Math.Max(1, Environment.ProcessorCount / 2);

    public Task<string> HashAsync(string password, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(password);
        return RunAsync(() => _hasher.Hash(password), cancellationToken);
    }

    public Task<PasswordVerification> VerifyAsync(string password, string? storedHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(password);
        return storedHash is null
            ? RunAsync(() => _hasher.VerifyDummy(password), cancellationToken)
            : RunAsync(() => _hasher.Verify(password, storedHash), cancellationToken);
    }

    internal Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        var item = new WorkItem<T>(work);

        // Registered before the item is queued, so that a cancellation racing the enqueue is seen under the lock
        // either by the enqueue (the token is already cancelled) or by the callback (the item is in the queue).
        if (cancellationToken.CanBeCanceled)
            item.Registration = cancellationToken.UnsafeRegister(static (state, token) =>
            {
                var (pool, queued) = ((PasswordHashingPool, WorkItem))state!;
                pool.Cancel(queued, token);
            }, (this, (WorkItem)item));

        Task<T>? refusal = null;
        lock (_waiting)
        {
            if (_disposed)
                refusal = Task.FromException<T>(new ObjectDisposedException(nameof(PasswordHashingPool)));
            else if (cancellationToken.IsCancellationRequested)
                refusal = Task.FromCanceled<T>(cancellationToken);
            else if (_waiting.Count >= _queueCapacity)
                refusal = Task.FromException<T>(new ServerBusyException(BusyMessage));
            else
            {
                item.Node = _waiting.AddLast(item);
                Monitor.Pulse(_waiting);
            }
        }

        if (refusal is null)
            return item.Completion.Task;

        // Outside the lock: disposing waits for a callback under way, and the callback takes the lock.
        item.Registration.Dispose();
        return refusal;
    }

    void Cancel(WorkItem item, CancellationToken cancellationToken)
    {
        lock (_waiting)
        {
            if (item.Node?.List is null)
                return;
            _waiting.Remove(item.Node);
        }

        item.Cancel(cancellationToken);
    }

    void Work()
    {
        while (true)
        {
            WorkItem item;
            lock (_waiting)
            {
                while (_waiting.First is null && !_disposed)
                    Monitor.Wait(_waiting);
                if (_disposed)
                    return;
                item = _waiting.First!.Value;
                _waiting.RemoveFirst();
            }

            item.Run();
        }
    }

    public void Dispose()
    {
        WorkItem[] abandoned;
        lock (_waiting)
        {
            if (_disposed)
                return;
            _disposed = true;
            abandoned = [.. _waiting];
            _waiting.Clear();
            Monitor.PulseAll(_waiting);
        }

        foreach (var item in abandoned)
            item.Abandon(new ObjectDisposedException(nameof(PasswordHashingPool)));

        // A hash already under way finishes (it cannot be interrupted) and completes its task before its thread exits.
        foreach (var thread in _threads)
            if (thread != Thread.CurrentThread)
                thread.Join();
    }

    abstract class WorkItem
    {
        public LinkedListNode<WorkItem>? Node { get; set; }
        public CancellationTokenRegistration Registration { get; set; }

        public abstract void Run();
        public abstract void Cancel(CancellationToken cancellationToken);
        public abstract void Abandon(Exception exception);
    }

    sealed class WorkItem<T>(Func<T> work) : WorkItem
    {
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run()
        {
            Registration.Dispose();
            try
            {
                Completion.TrySetResult(work());
            }
            catch (Exception e)
            {
                Completion.TrySetException(e);
            }
        }

        public override void Cancel(CancellationToken cancellationToken) => Completion.TrySetCanceled(cancellationToken);

        public override void Abandon(Exception exception)
        {
            Registration.Dispose();
            Completion.TrySetException(exception);
        }
    }
}

using System.Diagnostics;
using Seq.Application.Security;
using Seq.Infrastructure.Security;

namespace Seq.Tests.Credentials;

public sealed class PasswordHashingPoolTests
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_wrong_password_fails_and_the_right_one_succeeds_through_the_pool()
    {
        using var pool = new PasswordHashingPool(new PasswordHasher(1000), threads: 2, queueCapacity: 8);

        var hash = await pool.HashAsync("correct horse", CancellationToken.None);

        (await pool.VerifyAsync("wrong horse", hash, CancellationToken.None)).ShouldBe(PasswordVerification.Failed);
        (await pool.VerifyAsync("correct horse", hash, CancellationToken.None)).ShouldBe(PasswordVerification.SucceededRehashNeeded);
    }

    [Fact]
    public async Task A_hash_with_todays_parameters_verifies_without_asking_for_a_rehash()
    {
        using var pool = new PasswordHashingPool(new PasswordHasher(), threads: 1, queueCapacity: 8);

        var hash = await pool.HashAsync("correct horse", CancellationToken.None);

        (await pool.VerifyAsync("correct horse", hash, CancellationToken.None)).ShouldBe(PasswordVerification.Succeeded);
    }

    [Fact]
    public async Task An_unknown_users_verification_fails_and_takes_about_as_long_as_a_wrong_password()
    {
        using var pool = new PasswordHashingPool(new PasswordHasher(), threads: 1, queueCapacity: 8);
        var hash = await pool.HashAsync("correct horse", CancellationToken.None);
        await pool.VerifyAsync("warm up", null, CancellationToken.None);

        var wrong = new List<TimeSpan>();
        var unknown = new List<TimeSpan>();
        for (var i = 0; i < 10; i++)
        {
            // Interleaved, so that load from other tests weighs on both alike.
            var stopwatch = Stopwatch.StartNew();
            (await pool.VerifyAsync("wrong horse", hash, CancellationToken.None)).ShouldBe(PasswordVerification.Failed);
            wrong.Add(stopwatch.Elapsed);

            stopwatch.Restart();
            (await pool.VerifyAsync("correct horse", null, CancellationToken.None)).ShouldBe(PasswordVerification.Failed);
            unknown.Add(stopwatch.Elapsed);
        }

        // The fastest of each is the cost of the work itself: load from other tests only ever adds to a run, so a
        // median still swings with the machine's load while the minimum does not.
        var ratio = unknown.Min() / wrong.Min();
        ratio.ShouldBeInRange(0.7, 1.43);
    }

    [Fact]
    public async Task Hashing_runs_on_the_pools_named_threads_and_never_on_the_thread_pool()
    {
        using var pool = new PasswordHashingPool(new PasswordHasher(1000), threads: 3, queueCapacity: 8);

        var seen = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            pool.RunAsync(() => (Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.IsBackground), CancellationToken.None)));

        foreach (var (name, isThreadPoolThread, isBackground) in seen)
        {
            name.ShouldNotBeNull().ShouldMatch("^seq-password-hashing-[1-3]$");
            isThreadPoolThread.ShouldBeFalse();
            isBackground.ShouldBeTrue();
        }
    }

    [Fact]
    public async Task A_request_beyond_the_queue_capacity_is_refused_at_once_as_server_busy()
    {
        using var pool = new PasswordHashingPool(new PasswordHasher(1000), threads: 1, queueCapacity: 2);
        using var release = new ManualResetEventSlim();
        var (running, started) = Occupy(pool, release);
        await started.WaitAsync(Deadline);
        var hash = pool.HashAsync("first in the queue", CancellationToken.None);
        var verification = pool.VerifyAsync("second in the queue", null, CancellationToken.None);

        var refused = pool.VerifyAsync("one too many", null, CancellationToken.None);

        refused.IsCompleted.ShouldBeTrue();
        var busy = await Should.ThrowAsync<ServerBusyException>(refused);
        busy.Message.ShouldBe("The server is busy checking passwords; try again shortly.");
        release.Set();
        await running.WaitAsync(Deadline);
        (await hash.WaitAsync(Deadline)).ShouldStartWith("$pbkdf2-sha512$");
        (await verification.WaitAsync(Deadline)).ShouldBe(PasswordVerification.Failed);
    }

    [Fact]
    public async Task A_cancelled_request_leaves_the_queue_and_frees_its_place()
    {
        using var pool = new PasswordHashingPool(new PasswordHasher(1000), threads: 1, queueCapacity: 1);
        using var release = new ManualResetEventSlim();
        var (running, started) = Occupy(pool, release);
        await started.WaitAsync(Deadline);
        using var cancellation = new CancellationTokenSource();
        var cancelled = pool.HashAsync("changed my mind", cancellation.Token);

        await cancellation.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(cancelled.WaitAsync(Deadline));
        var next = pool.HashAsync("next in line", CancellationToken.None);
        release.Set();
        await running.WaitAsync(Deadline);
        (await next.WaitAsync(Deadline)).ShouldStartWith("$pbkdf2-sha512$");
    }

    [Fact]
    public async Task An_already_cancelled_request_is_never_queued()
    {
        using var pool = new PasswordHashingPool(new PasswordHasher(1000), threads: 1, queueCapacity: 1);

        var cancelled = pool.VerifyAsync("too late", null, new CancellationToken(canceled: true));

        await Should.ThrowAsync<OperationCanceledException>(cancelled);
        (await pool.VerifyAsync("in time", null, CancellationToken.None)).ShouldBe(PasswordVerification.Failed);
    }

    [Fact]
    public async Task Disposing_the_pool_fails_waiting_requests_lets_the_running_one_finish_and_refuses_new_ones()
    {
        var pool = new PasswordHashingPool(new PasswordHasher(1000), threads: 1, queueCapacity: 4);
        using var release = new ManualResetEventSlim();
        var (running, started) = Occupy(pool, release);
        await started.WaitAsync(Deadline);
        var waiting = pool.HashAsync("never hashed", CancellationToken.None);

        var disposing = Task.Run(pool.Dispose);

        await Should.ThrowAsync<ObjectDisposedException>(waiting.WaitAsync(Deadline));
        release.Set();
        (await running.WaitAsync(Deadline)).ShouldBe(42);
        await disposing.WaitAsync(Deadline);
        await Should.ThrowAsync<ObjectDisposedException>(pool.HashAsync("after the end", CancellationToken.None));
    }

    [Fact]
    public async Task A_pool_disposed_from_its_own_hashing_thread_finishes_that_work_instead_of_waiting_for_itself()
    {
        var pool = new PasswordHashingPool(new PasswordHasher(1000), threads: 2, queueCapacity: 4);

        var disposedFromInside = pool.RunAsync(() =>
        {
            pool.Dispose();
            return Thread.CurrentThread.Name;
        }, CancellationToken.None);

        (await disposedFromInside.WaitAsync(Deadline)).ShouldNotBeNull().ShouldStartWith("seq-password-hashing-");
        await Should.ThrowAsync<ObjectDisposedException>(pool.HashAsync("after the end", CancellationToken.None));
    }

    [Fact]
    public void The_default_pool_leaves_at_least_half_the_processors_to_the_rest_of_the_server()
    {
        PasswordHashingPool.DefaultThreads.ShouldBeGreaterThanOrEqualTo(1);
        PasswordHashingPool.DefaultThreads.ShouldBeLessThanOrEqualTo(Math.Max(1, Environment.ProcessorCount / 2));
    }

    // Holds the pool's only thread until released, so that what follows must queue.
    static (Task<int> Running, Task Started) Occupy(PasswordHashingPool pool, ManualResetEventSlim release)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = pool.RunAsync(() =>
        {
            started.SetResult();
            return release.Wait(Deadline) ? 42 : throw new TimeoutException("The test never released the pool's thread.");
        }, CancellationToken.None);
        return (running, started.Task);
    }
}

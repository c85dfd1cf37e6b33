namespace Seq.Tests;

/// <summary>How a test waits: a condition polled until it holds, failing the test at a deadline (tests never sleep a fixed time).</summary>
static class Poll
{
    static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(30);

    public static Task UntilAsync(Func<bool> condition, string what) => UntilAsync(condition, DefaultLimit, what);

    public static Task UntilAsync(Func<Task<bool>> condition, string what) => UntilAsync(condition, DefaultLimit, what);

    public static Task UntilAsync(Func<bool> condition, TimeSpan limit, string what) => UntilAsync(() => Task.FromResult(condition()), limit, what);

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"waited too long for {what}");
            await Task.Delay(20);
        }
    }
}

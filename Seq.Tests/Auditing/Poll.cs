namespace Seq.Tests.Auditing;

static class Poll
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan limit, string what)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"{what} did not happen in time");
            await Task.Delay(20);
        }
    }
}

namespace Seq.Application.Filtering;

/// <summary>A filter that does not parse. <see cref="Position"/> is the 0-based index of the offending character, and the message names it.</summary>
public sealed class FilterSyntaxException(string problem, int position)
    : Exception($"The filter has a syntax error at position {position}: {problem}")
{
    public int Position { get; } = position;

    public string Problem { get; } = problem;
}

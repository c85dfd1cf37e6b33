using Npgsql;
using Seq.Application.Filtering;
using Seq.Infrastructure.Events;

namespace Seq.Tests.Filtering;

public sealed class ParsedFilterCacheTests
{
    [Fact]
    public void A_filter_text_is_parsed_once_and_its_SQL_is_translated_once()
    {
        var cache = new ParsedFilterCache();
        var first = cache.Parse("Customer = 'c42' and N > 3");
        cache.Parse("Customer = 'c42' and N > 3").ShouldBeSameAs(first);

        using var one = new NpgsqlCommand();
        using var two = new NpgsqlCommand();
        var sql = FilterSql.Translate(first, one);
        FilterSql.Translate(first, two).ShouldBeSameAs(sql);
        two.Parameters.Select(p => (p.ParameterName, p.Value)).ShouldBe(one.Parameters.Select(p => (p.ParameterName, p.Value)));
    }

    [Fact]
    public void The_same_parsed_filter_twice_in_one_command_gets_parameters_of_its_own_each_time()
    {
        var filter = new ParsedFilterCache().Parse("Customer = 'c42'");
        using var command = new NpgsqlCommand();
        var first = FilterSql.Translate(filter, command);
        var second = FilterSql.Translate(filter, command);
        second.ShouldNotBe(first);
        command.Parameters.Select(p => p.ParameterName).Distinct().Count().ShouldBe(2);
    }

    [Fact]
    public void The_cache_stays_within_its_capacity_and_keeps_no_text_that_does_not_parse()
    {
        var cache = new ParsedFilterCache();
        for (var i = 0; i < ParsedFilterCache.Capacity + 10; i++)
            cache.Parse($"N = {i}");
        cache.Count.ShouldBeLessThanOrEqualTo(ParsedFilterCache.Capacity);

        var before = cache.Count;
        Should.Throw<FilterSyntaxException>(() => cache.Parse("N = "));
        cache.Count.ShouldBe(before);
    }
}

using Seq.Domain;
using Seq.Domain.ApiKeys;
using Seq.Domain.Security;
using Seq.Domain.Users;

namespace Seq.Tests.ApiKeys;

public sealed class ApiKeyAggregateTests
{
    static readonly DateTimeOffset Now = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    static readonly byte[] Salt = [1, 2, 3];
    static readonly byte[] Hash = [4, 5, 6];

    static ApiKeyCreated Create(string title = "Build server", Permission[]? permissions = null, InputSettings? settings = null, string? ownerId = "user-alice") =>
        ApiKey.Create("apikey-0123456789abcdef", title, "AbC123", Salt, Hash, permissions ?? [Permission.Ingest], ownerId, settings ?? InputSettings.None, Now);

    static ApiKey Existing(ApiKeyCreated? created = null)
    {
        var key = new ApiKey();
        key.Apply(created ?? Create());
        return key;
    }

    [Fact]
    public void A_new_key_gets_a_stream_and_an_id_of_sixteen_hex_digits()
    {
        var id = ApiKey.NewId();

        id.ShouldMatch("^apikey-[0-9a-f]{16}$");
        ApiKey.StreamIdFor(id).ShouldBe("apikeys/" + id);
        ApiKey.StreamType.ShouldBe("ApiKey");
    }

    [Fact]
    public void Creating_a_key_trims_its_title_and_orders_and_deduplicates_its_permissions()
    {
        var created = Create("  Build server  ", [Permission.Write, Permission.Ingest, Permission.Write]);

        created.Title.ShouldBe("Build server");
        created.AssignedPermissions.ShouldBe([Permission.Ingest, Permission.Write]);
        created.TokenPrefix.ShouldBe("AbC123");
        created.OwnerId.ShouldBe("user-alice");
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("tab\tinside")]
    public void A_title_that_is_blank_or_holds_control_characters_is_refused(string title) =>
        Should.Throw<DomainException>(() => Create(title));

    [Fact]
    public void A_title_longer_than_two_hundred_characters_is_refused()
    {
        Create(new string('t', 200)).Title.Length.ShouldBe(200);
        Should.Throw<DomainException>(() => Create(new string('t', 201)));
    }

    [Fact]
    public void A_key_without_permissions_is_refused() =>
        Should.Throw<DomainException>(() => Create(permissions: [])).Message.ShouldContain("at least one permission");

    [Fact]
    public void A_minimum_level_is_one_of_the_six_levels_in_its_canonical_spelling()
    {
        Create(settings: InputSettings.None with { MinimumLevel = "warning" }).InputSettings.MinimumLevel.ShouldBe("Warning");
        Should.Throw<DomainException>(() => Create(settings: InputSettings.None with { MinimumLevel = "Loud" }));
    }

    [Fact]
    public void Applied_properties_need_distinct_non_empty_names()
    {
        Should.Throw<DomainException>(() => Create(settings: InputSettings.None with { AppliedProperties = [new("", "x")] }));
        Should.Throw<DomainException>(() => Create(settings: InputSettings.None with
        {
            AppliedProperties = [new("Application", "a"), new(" Application ", "b")],
        })).Message.ShouldContain("Application");
    }

    [Fact]
    public void A_filter_without_an_expression_is_no_filter_and_one_longer_than_the_limit_is_refused()
    {
        Create(settings: InputSettings.None with { Filter = new DescriptiveFilter("nothing", false, " ", null) }).InputSettings.Filter.ShouldBeNull();
        Should.Throw<DomainException>(() => Create(settings: InputSettings.None with
        {
            Filter = new DescriptiveFilter(null, false, new string('x', ApiKey.MaximumFilterLength + 1), null),
        }));
    }

    [Fact]
    public void Applying_the_creation_gives_the_key_its_state()
    {
        var settings = new InputSettings([new("Environment", "Production")], "Information", new DescriptiveFilter("Errors", false, "@Level = 'Error'", null), true);

        var key = Existing(Create(settings: settings));

        key.Exists.ShouldBeTrue();
        key.Title.ShouldBe("Build server");
        key.TokenSalt.ShouldBe(Salt);
        key.TokenHash.ShouldBe(Hash);
        key.AssignedPermissions.ShouldBe(new HashSet<Permission> { Permission.Ingest });
        key.InputSettings.ShouldBe(settings);
    }

    [Fact]
    public void A_change_that_changes_nothing_yields_no_events_even_with_equal_but_distinct_settings()
    {
        var key = Existing(Create(settings: new InputSettings([new("Environment", "Production")], "Information", null, false)));

        key.Change(" Build server ", [Permission.Ingest, Permission.Ingest], new InputSettings([new("Environment", "Production")], "information", null, false), Now)
            .ShouldBeEmpty();
    }

    [Fact]
    public void A_change_of_title_permissions_or_settings_yields_one_changed_event_that_apply_takes_in()
    {
        var key = Existing();
        var settings = InputSettings.None with { UseServerTimestamps = true };

        var events = key.Change("Renamed", [Permission.Read, Permission.Ingest], settings, Now);

        var changed = events.ShouldHaveSingleItem().ShouldBeOfType<ApiKeyChanged>();
        changed.AssignedPermissions.ShouldBe([Permission.Ingest, Permission.Read]);
        key.Apply(changed);
        key.Title.ShouldBe("Renamed");
        key.AssignedPermissions.ShouldBe(new HashSet<Permission> { Permission.Ingest, Permission.Read });
        key.InputSettings.UseServerTimestamps.ShouldBeTrue();
    }

    [Fact]
    public void Deleting_a_key_twice_yields_one_deletion_and_a_deleted_key_cannot_change()
    {
        var key = Existing();

        var deleted = key.Delete(Now).ShouldHaveSingleItem();
        key.Apply(deleted);

        key.Exists.ShouldBeFalse();
        key.Delete(Now).ShouldBeEmpty();
        Should.Throw<DomainException>(() => key.Change("Again", [Permission.Ingest], InputSettings.None, Now));
    }
}

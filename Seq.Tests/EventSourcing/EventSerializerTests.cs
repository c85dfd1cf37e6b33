using System.Text;
using Seq.Domain;
using Seq.Domain.Users;
using Seq.Infrastructure.EventSourcing;
using Seq.Tests.Support;

namespace Seq.Tests.EventSourcing;

/// <summary>An abstract event type, which the registry must not take for a stored event type.</summary>
public abstract record AbstractProbeEvent : IDomainEvent;

public sealed class EventSerializerTests
{
    static readonly EventSerializer Serializer = new(EventTypeRegistry.ForDomain(typeof(EventSerializerTests).Assembly));

    [Fact]
    public void An_event_type_is_stored_under_its_own_name_and_only_concrete_event_types_are_known()
    {
        var types = Serializer.Types;
        types.NameOf(typeof(CounterIncremented)).ShouldBe("CounterIncremented");
        types.TypeOf("CounterIncremented").ShouldBe(typeof(CounterIncremented));
        types.TypeOf(nameof(UserPasswordChanged)).ShouldBe(typeof(UserPasswordChanged));

        foreach (var name in new[] { nameof(IDomainEvent), nameof(AbstractProbeEvent), nameof(Counter), "counterincremented" })
            Should.Throw<InvalidOperationException>(() => types.TypeOf(name)).Message
                .ShouldBe($"The stored event type {name} is not known to this version of the server.");
        Should.Throw<InvalidOperationException>(() => types.NameOf(typeof(Counter))).Message
            .ShouldBe($"The event type {typeof(Counter).FullName} is not registered with the event store.");
        Should.Throw<InvalidOperationException>(() => types.NameOf(typeof(IDomainEvent)));
    }

    [Fact]
    public void Two_event_types_under_one_stored_name_are_refused()
    {
        Should.Throw<InvalidOperationException>(() => new EventTypeRegistry([typeof(IDomainEvent).Assembly, typeof(IDomainEvent).Assembly]))
            .Message.ShouldStartWith("Two event types share the stored name ");
    }

    [Fact]
    public void Enums_are_stored_by_name_and_read_back()
    {
        var changed = new UserPasswordChanged("user-1", "hash", false, 2, PasswordChangeReason.ResetByAdministrator, DateTimeOffset.UnixEpoch);

        var json = Serializer.Serialize(changed);

        json.ShouldContain("\"ResetByAdministrator\"");
        Serializer.Deserialize(nameof(UserPasswordChanged), json).ShouldBe(changed);
        Serializer.Deserialize(nameof(UserPasswordChanged), Encoding.UTF8.GetBytes(json)).ShouldBe(changed);
    }

    [Fact]
    public void A_stored_event_that_is_json_null_is_an_error_and_missing_metadata_is_none()
    {
        Should.Throw<InvalidOperationException>(() => Serializer.Deserialize("CounterIncremented", "null")).Message.ShouldBe("A stored CounterIncremented event is empty.");
        Should.Throw<InvalidOperationException>(() => Serializer.Deserialize("CounterIncremented", "null"u8)).Message.ShouldBe("A stored CounterIncremented event is empty.");

        Serializer.DeserializeMetadata((string?)null).ShouldBe(EventMetadata.None);
        Serializer.DeserializeMetadata("null").ShouldBe(EventMetadata.None);
        Serializer.DeserializeMetadata("null"u8).ShouldBe(EventMetadata.None);
        var metadata = new EventMetadata("c", "d", "p", "pid", "op");
        Serializer.DeserializeMetadata(Serializer.Serialize(metadata)).ShouldBe(metadata);
        Serializer.DeserializeMetadata(Encoding.UTF8.GetBytes(Serializer.Serialize(metadata))).ShouldBe(metadata);
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Seq.Domain;

namespace Seq.Infrastructure.EventSourcing;

public sealed class EventSerializer(EventTypeRegistry types)
{
    // Enums are stored by name, so that reordering an enum's members never changes what a stored event means.
    static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General) { Converters = { new JsonStringEnumConverter() } };

    public EventTypeRegistry Types => types;

    public string Serialize(IDomainEvent @event) => JsonSerializer.Serialize(@event, @event.GetType(), Options);

    public string Serialize(EventMetadata metadata) => JsonSerializer.Serialize(metadata, Options);

    public IDomainEvent Deserialize(string type, string json) =>
        (IDomainEvent)(JsonSerializer.Deserialize(json, types.TypeOf(type), Options)
            ?? throw new InvalidOperationException($"A stored {type} event is empty."));

    public IDomainEvent Deserialize(string type, ReadOnlySpan<byte> utf8Json) =>
        (IDomainEvent)(JsonSerializer.Deserialize(utf8Json, types.TypeOf(type), Options)
            ?? throw new InvalidOperationException($"A stored {type} event is empty."));

    public EventMetadata DeserializeMetadata(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize<EventMetadata>(utf8Json, Options) ?? EventMetadata.None;

    public EventMetadata DeserializeMetadata(string? json) =>
        json is null ? EventMetadata.None : JsonSerializer.Deserialize<EventMetadata>(json, Options) ?? EventMetadata.None;
}

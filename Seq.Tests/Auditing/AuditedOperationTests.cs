using MediatR;
using Seq.Application.Auditing;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;

namespace Seq.Tests.Auditing;

[Audited("Probe", "Pair")]
public sealed record PairedProbeRequest([property: AuditProperty] string Title, [property: AuditProperty(Name = "Renamed")] int Count, string NotListed)
    : IRequest<Unit>;

[Audited("Probe", "Once", Single = true)]
public sealed record SingleProbeRequest([property: AuditProperty] string Title) : IRequest<Unit>;

[Audited("Probe", "Worded", BeginTemplate = "Starting {Title}", CompleteTemplate = "Finished {Title}", AbandonTemplate = "Refused {Title}")]
public sealed record WordedProbeRequest([property: AuditProperty] string Title) : IRequest<Unit>;

public sealed record ProbeResult(string Id) : IAuditedResult
{
    public IEnumerable<KeyValuePair<string, object?>> AuditProperties => [new("ProbeId", Id)];
}

/// <summary>What each audit event of an operation says, from its request type alone (docs/audit-events.md).</summary>
public sealed class AuditedOperationTests
{
    static readonly Guid Id = Guid.Parse("6f1c2a8e-0000-4000-8000-000000000001");

    [Fact]
    public void A_paired_operation_has_the_documented_default_templates_and_begins_with_a_begin()
    {
        var operation = AuditedOperation.Of(typeof(PairedProbeRequest))!;

        operation.Category.ShouldBe("Probe");
        operation.Name.ShouldBe("Pair");
        operation.Single.ShouldBeFalse();
        operation.BeginTemplate.ShouldBe("Beginning Probe Pair");
        operation.CompleteTemplate.ShouldBe("Probe Pair completed");
        operation.AbandonTemplate.ShouldBe("Probe Pair was rejected");
        operation.FailTemplate.ShouldBe("Probe Pair failed");
        operation.FailAfterCommitTemplate.ShouldBe("Probe Pair failed after its change was committed");
        operation.FailUncertainTemplate.ShouldBe("Probe Pair failed and its change may have been committed");
        var opening = operation.Opening(Id, []);
        opening.Event.ShouldBe(AuditEventKind.Begin);
        opening.MessageTemplate.ShouldBe("Beginning Probe Pair");
        opening.IsBlocking.ShouldBeTrue();
    }

    [Fact]
    public void A_single_operation_is_one_blocking_record_named_without_beginning()
    {
        var operation = AuditedOperation.Of(typeof(SingleProbeRequest))!;

        operation.Single.ShouldBeTrue();
        operation.BeginTemplate.ShouldBe("Probe Once");
        var opening = operation.Opening(Id, []);
        opening.Event.ShouldBe(AuditEventKind.Record);
        opening.IsBlocking.ShouldBeTrue();
    }

    [Fact]
    public void Templates_given_on_the_attribute_replace_the_defaults()
    {
        var operation = AuditedOperation.Of(typeof(WordedProbeRequest))!;

        operation.BeginTemplate.ShouldBe("Starting {Title}");
        operation.CompleteTemplate.ShouldBe("Finished {Title}");
        operation.AbandonTemplate.ShouldBe("Refused {Title}");
    }

    [Fact]
    public void Only_allow_listed_properties_are_recorded_under_their_audit_names_and_the_complete_adds_the_results()
    {
        var operation = AuditedOperation.Of(typeof(PairedProbeRequest))!;
        var properties = operation.PropertiesOf(new PairedProbeRequest("t", 3, "hidden"));

        properties.ShouldBe([new("Title", "t"), new("Renamed", 3)]);
        operation.PropertyNames.ShouldBe(["Title", "Renamed"]);
        var complete = operation.Completing(Id, properties, new ProbeResult("p-1"));
        complete.Event.ShouldBe(AuditEventKind.Complete);
        complete.OperationId.ShouldBe(Id);
        complete.MessageTemplate.ShouldBe("Probe Pair completed");
        complete.Properties.ShouldBe([new("Title", "t"), new("Renamed", 3), new("ProbeId", "p-1")]);
        complete.IsBlocking.ShouldBeFalse();
        operation.Completing(Id, properties, null).Properties.ShouldBe(properties);
    }

    [Fact]
    public void An_abandon_carries_the_reason_and_a_fail_the_whole_exception_without_the_requests_properties()
    {
        var operation = AuditedOperation.Of(typeof(PairedProbeRequest))!;
        var failure = new InvalidOperationException("broken");

        var abandon = operation.Abandoning(Id, new ArgumentException("refused"));
        abandon.Event.ShouldBe(AuditEventKind.Abandon);
        abandon.MessageTemplate.ShouldBe("Probe Pair was rejected");
        abandon.Exception.ShouldBe("System.ArgumentException: refused");
        abandon.Properties.ShouldBeEmpty();
        abandon.IsBlocking.ShouldBeFalse();

        var fail = operation.Failing(Id, failure);
        fail.Event.ShouldBe(AuditEventKind.Fail);
        fail.MessageTemplate.ShouldBe("Probe Pair failed");
        fail.Exception.ShouldBe(failure.ToString());
        fail.Properties.ShouldBeEmpty();
        fail.IsBlocking.ShouldBeFalse();
    }

    [Theory]
    [InlineData(OperationEffect.Committed, "Probe Pair failed after its change was committed")]
    [InlineData(OperationEffect.Uncertain, "Probe Pair failed and its change may have been committed")]
    public void A_fail_after_an_append_was_sent_says_whether_the_change_committed_or_may_have(OperationEffect effect, string template)
    {
        var fail = AuditedOperation.Of(typeof(PairedProbeRequest))!.FailingAfter(Id, new InvalidOperationException("late"), effect);

        fail.Event.ShouldBe(AuditEventKind.Fail);
        fail.MessageTemplate.ShouldBe(template);
        fail.Properties.ShouldBe([new(AuditedOperation.EffectProperty, effect.ToString())]);
        AuditedOperation.EffectProperty.ShouldBe("Effect");
    }

    [Fact]
    public void A_request_type_that_is_not_audited_has_no_operation()
    {
        AuditedOperation.Of(typeof(string)).ShouldBeNull();
    }

    [Fact]
    public void An_audit_outage_is_taken_to_have_recorded_the_opening_unless_it_says_otherwise()
    {
        new AuditUnavailableException().OpeningRecorded.ShouldBeTrue();
        new AuditUnavailableException().Message.ShouldContain("not carried out");
    }
}

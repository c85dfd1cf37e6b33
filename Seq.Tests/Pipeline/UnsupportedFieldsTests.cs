using Seq.Application.Pipeline;

namespace Seq.Tests.Pipeline;

/// <summary>The refusal of a Seq field this server does not implement, on its own (the endpoints' tests see it through HTTP).</summary>
public sealed class UnsupportedFieldsTests
{
    sealed record Body(IReadOnlyList<string> UnsupportedFields) : IMayCarryUnsupportedFields;

    [Fact]
    public void A_body_without_unsupported_fields_passes()
    {
        new UnsupportedFieldsValidator().Validate(new Body([])).IsValid.ShouldBeTrue();
    }

    [Fact]
    public void One_unsupported_field_is_refused_by_name_and_the_caller_is_told_to_leave_it_out()
    {
        var result = new UnsupportedFieldsValidator().Validate(new Body(["IsDefault"]));

        result.Errors.Single().ErrorMessage.ShouldBe("This server does not support IsDefault; leave it out, null or empty.");
    }

    [Fact]
    public void Several_unsupported_fields_are_refused_together_each_by_name()
    {
        var result = new UnsupportedFieldsValidator().Validate(new Body(["AuthenticationProvider", "IsDefault"]));

        result.Errors.Single().ErrorMessage.ShouldBe("This server does not support AuthenticationProvider, IsDefault; leave them out, null or empty.");
    }
}

using FluentValidation;

namespace Seq.Application.Pipeline;

/// <summary>
/// A request whose body may carry fields of Seq's entity that this server does not implement (a user's
/// <c>AuthenticationProvider</c>, a key's <c>IsDefault</c>). Given with a value, they are refused: accepting and
/// ignoring them would tell a Seq client that something happened that did not.
/// </summary>
public interface IMayCarryUnsupportedFields
{
    /// <summary>The names of the fields the body gave a value to and the server does not support.</summary>
    IReadOnlyList<string> UnsupportedFields { get; }
}

public sealed class UnsupportedFieldsValidator : AbstractValidator<IMayCarryUnsupportedFields>
{
    public UnsupportedFieldsValidator() =>
        RuleFor(c => c.UnsupportedFields).Must(fields => fields.Count == 0)
            .WithMessage(c => $"This server does not support {string.Join(", ", c.UnsupportedFields)}; leave {(c.UnsupportedFields.Count == 1 ? "it" : "them")} out, null or empty.");
}

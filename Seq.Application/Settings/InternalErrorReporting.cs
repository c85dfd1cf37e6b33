using FluentValidation;
using MediatR;
using Seq.Application.Auditing;
using Seq.Application.Pipeline;
using Seq.Application.Security;
using Seq.Domain.Security;

namespace Seq.Application.Settings;

/// <summary>
/// Seq's internal error reporting and usage telemetry. This server sends nothing anywhere, so both are always
/// disabled: a request to enable either is refused rather than accepted and ignored.
/// </summary>
public sealed record InternalErrorReportingView(bool InternalErrorReportingEnabled, string? ReplyEmail, bool UsageTelemetryEnabled)
{
    public static InternalErrorReportingView Disabled { get; } = new(false, null, false);
}

[Demands(Permission.System)]
[Audited("Setting", "InternalErrorReporting", BeginTemplate = "Beginning change of internal error reporting")]
public sealed record ChangeInternalErrorReportingCommand(
    [property: AuditProperty] bool InternalErrorReportingEnabled, bool ReplyEmailGiven, [property: AuditProperty] bool UsageTelemetryEnabled)
    : IRequest<InternalErrorReportingView>, IMayCarryUnsupportedFields
{
    /// <summary>Fields of Seq's entity the body gave a value that this server does not support; validation refuses them.</summary>
    public IReadOnlyList<string> UnsupportedFields { get; init; } = [];
}

public sealed class ChangeInternalErrorReportingValidator : AbstractValidator<ChangeInternalErrorReportingCommand>
{
    const string SendsNothing = "This server sends nothing to anyone: internal error reporting and usage telemetry are always disabled.";

    public ChangeInternalErrorReportingValidator()
    {
        Include(new UnsupportedFieldsValidator());
        RuleFor(c => c.InternalErrorReportingEnabled).Equal(false).WithMessage(SendsNothing);
        RuleFor(c => c.UsageTelemetryEnabled).Equal(false).WithMessage(SendsNothing);
        RuleFor(c => c.ReplyEmailGiven).Equal(false).WithMessage("A reply email address is not used, because internal error reporting is always disabled.");
    }
}

sealed class ChangeInternalErrorReportingHandler : IRequestHandler<ChangeInternalErrorReportingCommand, InternalErrorReportingView>
{
    // Disabled is the only value there is, so storing it needs no write.
    public Task<InternalErrorReportingView> Handle(ChangeInternalErrorReportingCommand request, CancellationToken cancellationToken) =>
        Task.FromResult(InternalErrorReportingView.Disabled);
}

using Seq.Application.Auditing;
using Seq.Domain.Security;
using Seq.Application.Security;
using FluentValidation;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Domain.Settings;

namespace Seq.Application.Settings;

[Demands(Permission.System)]
[Audited("Setting", "Update", BeginTemplate = "Beginning change of setting {Name} to {Value}")]
public sealed record ChangeSettingCommand([property: AuditProperty] string Name, [property: AuditProperty] string? Value) : IRequest<SettingView>, IMayCarryUnsupportedFields
{
    /// <summary>Fields of Seq's entity the body gave a value that this server does not support; validation refuses them.</summary>
    public IReadOnlyList<string> UnsupportedFields { get; init; } = [];

    /// <summary>The name the request body gives, if any; it must be the one the address names.</summary>
    public string? BodyName { get; init; }

    /// <summary>False when the request gave a JSON object or array, whose text <see cref="Value"/> then holds.</summary>
    public bool ValueIsScalar { get; init; } = true;

    /// <summary>False when the body has no <c>Value</c> at all; a null value is given, and restores the default.</summary>
    public bool ValueGiven { get; init; } = true;
}

public sealed class ChangeSettingValidator : AbstractValidator<ChangeSettingCommand>
{
    public ChangeSettingValidator()
    {
        Include(new UnsupportedFieldsValidator());
        RuleFor(c => c.BodyName).Must((c, bodyName) => bodyName is null || string.Equals(bodyName, c.Name, StringComparison.OrdinalIgnoreCase))
            .WithMessage(c => $"The body names the setting {c.BodyName} but the address names {c.Name}.");
        RuleFor(c => c.Name).Must(name => !string.Equals(name, SettingCatalogue.IsAuthenticationEnabled, StringComparison.OrdinalIgnoreCase))
            .WithMessage($"{SettingCatalogue.IsAuthenticationEnabled} is read-only: it reports the choice made at the server's first start.");
        RuleFor(c => c.ValueGiven).Equal(true)
            .WithMessage(c => $"A value for {c.Name} is required; a null value restores its default.");
        RuleFor(c => c.ValueIsScalar).Equal(true)
            .WithMessage(c => $"The value of {c.Name} must be a string, a number or true/false, not a JSON object or array.");
        RuleFor(c => c.Value).Custom((value, context) =>
        {
            if (!context.InstanceToValidate.ValueIsScalar || !context.InstanceToValidate.ValueGiven)
                return;
            // An unknown name is not a validation failure but a missing resource: the handler answers 404.
            var definition = SettingCatalogue.Find(context.InstanceToValidate.Name);
            if (definition is not null && !definition.TryNormalize(value, out _, out var error))
                context.AddFailure(nameof(ChangeSettingCommand.Value), error!);
        });
    }
}

sealed class ChangeSettingHandler(IEventStore store, TimeProvider clock) : IRequestHandler<ChangeSettingCommand, SettingView>
{
    // All settings share one stream, so administrators changing different settings at once would otherwise
    // see spurious conflicts; each retry decides again on freshly loaded state, after a short random pause
    // that spreads out writers who lost together.
    const int Attempts = 10;

    public async Task<SettingView> Handle(ChangeSettingCommand request, CancellationToken cancellationToken)
    {
        var definition = SettingCatalogue.Find(request.Name)
            ?? throw new NotFoundException($"There is no setting named {request.Name}.");

        for (var attempt = 1; ; attempt++)
        {
            var (settings, version) = await store.LoadAsync<InstanceSettings>(InstanceSettings.StreamId, cancellationToken);
            var events = settings.Change(definition, request.Value, clock.GetUtcNow());
            if (events.Count == 0)
                return SettingView.Of(definition, settings.ValueOf(definition));

            try
            {
                await store.AppendAsync(InstanceSettings.StreamId, InstanceSettings.StreamType, version, events, cancellationToken);
            }
            catch (ConcurrencyException) when (attempt < Attempts)
            {
                await Task.Delay(Random.Shared.Next(1, 5 * attempt), cancellationToken);
                continue;
            }

            foreach (var @event in events)
                settings.Apply(@event);
            return SettingView.Of(definition, settings.ValueOf(definition));
        }
    }
}

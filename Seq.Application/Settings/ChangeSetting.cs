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
public sealed record ChangeSettingCommand([property: AuditProperty] string Name, [property: AuditProperty] string? Value) : IRequest<SettingView>;

public sealed class ChangeSettingValidator : AbstractValidator<ChangeSettingCommand>
{
    public ChangeSettingValidator()
    {
        RuleFor(c => c.Value).Custom((value, context) =>
        {
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

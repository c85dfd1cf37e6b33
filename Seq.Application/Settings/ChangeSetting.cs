using FluentValidation;
using MediatR;
using Seq.Application.EventSourcing;
using Seq.Application.Pipeline;
using Seq.Domain.Settings;

namespace Seq.Application.Settings;

public sealed record ChangeSettingCommand(string Name, string? Value) : IRequest<SettingView>;

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
    // All settings share one stream, so two administrators changing different settings at once would
    // otherwise see a spurious conflict; each retry decides again on freshly loaded state.
    const int Attempts = 3;

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
                continue;
            }

            foreach (var @event in events)
                settings.Apply(@event);
            return SettingView.Of(definition, settings.ValueOf(definition));
        }
    }
}

using Seq.Domain.Security;
using Seq.Application.Security;
using MediatR;
using Seq.Application.Pipeline;
using Seq.Domain.Settings;

namespace Seq.Application.Settings;

[Demands(Permission.Read)]
public sealed record GetSettingQuery(string Name) : IRequest<SettingView>;

sealed class GetSettingHandler(ISettingsReadModel settings) : IRequestHandler<GetSettingQuery, SettingView>
{
    public async Task<SettingView> Handle(GetSettingQuery request, CancellationToken cancellationToken)
    {
        var definition = SettingCatalogue.Find(request.Name)
            ?? throw new NotFoundException($"There is no setting named {request.Name}.");

        var changed = await settings.GetChangedValuesAsync(cancellationToken);
        return SettingView.Of(definition, changed.GetValueOrDefault(definition.Name));
    }
}

using Seq.Domain.Security;
using Seq.Application.Security;
using MediatR;
using Seq.Domain.Settings;

namespace Seq.Application.Settings;

[Demands(Permission.Read)]
public sealed record ListSettingsQuery : IRequest<IReadOnlyList<SettingView>>;

sealed class ListSettingsHandler(ISettingsReadModel settings) : IRequestHandler<ListSettingsQuery, IReadOnlyList<SettingView>>
{
    public async Task<IReadOnlyList<SettingView>> Handle(ListSettingsQuery request, CancellationToken cancellationToken)
    {
        var changed = await settings.GetChangedValuesAsync(cancellationToken);
        return [.. SettingCatalogue.All.Select(d => SettingView.Of(d, changed.GetValueOrDefault(d.Name)))];
    }
}

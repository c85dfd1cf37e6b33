using Seq.Application.Settings;
using Seq.Domain.Settings;
using Seq.Domain.Users;

namespace Seq.Application.Users;

/// <summary>The rules a new password must meet: the instance's minimum length (setting MinimumPasswordLength) up to 128 characters.</summary>
public sealed class PasswordPolicy(ISettingsReadModel settings)
{
    static readonly int DefaultMinimumLength = int.Parse(SettingCatalogue.MinimumPasswordLength.DefaultValue, System.Globalization.CultureInfo.InvariantCulture);

    public async Task<string?> ProblemWithAsync(string password, CancellationToken cancellationToken) =>
        ProblemWith(password, await MinimumLengthAsync(cancellationToken));

    /// <summary>
    /// The rule for a password chosen before the instance has any settings (the first-run administrator's, given in
    /// clear or hashed by <c>seqsvr config hash</c>): the default minimum length applies.
    /// </summary>
    public static string? ProblemWithBeforeFirstStart(string password) => ProblemWith(password, DefaultMinimumLength);

    static string? ProblemWith(string password, int minimum)
    {
        if (password.Length < minimum || password.Length > User.MaximumPasswordLength)
            return $"A password must be {minimum} to {User.MaximumPasswordLength} characters long.";
        if (string.IsNullOrWhiteSpace(password))
            return "A password cannot be only white space.";
        return null;
    }

    async Task<int> MinimumLengthAsync(CancellationToken cancellationToken)
    {
        var changed = await settings.GetChangedValuesAsync(cancellationToken);
        var definition = SettingCatalogue.MinimumPasswordLength;
        return changed.TryGetValue(definition.Name, out var value) && int.TryParse(value, out var length) ? length : DefaultMinimumLength;
    }
}

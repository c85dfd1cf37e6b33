using System.Text;
using Seq.Application.Auditing;

namespace Seq.Tests.Auditing;

public sealed class AuditCatalogueTests
{
    const string Begin = "<!-- catalogue:begin -->";
    const string End = "<!-- catalogue:end -->";

    /// <summary>The table docs/audit-events.md must hold, generated from the code.</summary>
    public static string Table()
    {
        var table = new StringBuilder()
            .AppendLine("| Category/Operation | Events | Operation properties | Source |")
            .AppendLine("|---|---|---|---|");
        foreach (var entry in AuditCatalogue.All.OrderBy(e => e.Category, StringComparer.Ordinal).ThenBy(e => e.Operation, StringComparer.Ordinal))
        {
            var properties = entry.Properties.Count == 0 ? "—" : string.Join(", ", entry.Properties.Select(p => $"`{p}`"));
            table.AppendLine($"| `{entry.Category}/{entry.Operation}` | {string.Join(", ", entry.Events)} | {properties} | `{entry.Source}` |");
        }
        return table.ToString();
    }

    [Fact]
    public void The_documented_audit_events_are_exactly_the_catalogue_in_the_code()
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "Seq.sln")))
            directory = Path.GetDirectoryName(directory);
        var document = File.ReadAllText(Path.Combine(directory!, "docs", "audit-events.md")).ReplaceLineEndings("\n");

        var start = document.IndexOf(Begin, StringComparison.Ordinal);
        var end = document.IndexOf(End, StringComparison.Ordinal);
        start.ShouldBeGreaterThanOrEqualTo(0);
        end.ShouldBeGreaterThan(start);
        var documented = document[(start + Begin.Length)..end].Trim('\n') + "\n";

        documented.ShouldBe(Table().ReplaceLineEndings("\n"), "docs/audit-events.md must list the catalogue; regenerate the table from AuditCatalogueTests.Table()");
    }

    [Fact]
    public void No_audit_property_is_named_like_a_password_token_or_secret_unless_it_is_a_flag()
    {
        // Only what is allow-listed reaches the audit log; this keeps a secret from being allow-listed by mistake,
        // under its own name or renamed. A yes/no about a secret (MustChangePassword) tells nothing of it.
        var secretLike = new System.Text.RegularExpressions.Regex("password|passwd|passphrase|secret|token|credential|apikey$|privatekey|^key$",
            System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        var offenders = new List<string>();
        var allowListed = typeof(AuditCatalogue).Assembly.GetTypes()
            .Where(t => AuditedOperation.Of(t) is not null)
            .SelectMany(t => t.GetProperties().Select(p => (Type: t, Property: p,
                Attribute: (AuditPropertyAttribute?)Attribute.GetCustomAttribute(p, typeof(AuditPropertyAttribute)))))
            .Where(x => x.Attribute is not null)
            .ToList();
        allowListed.Count.ShouldBeGreaterThan(10);
        foreach (var (type, property, attribute) in allowListed)
        {
            var isFlag = property.PropertyType == typeof(bool) || property.PropertyType == typeof(bool?);
            if (!isFlag && (secretLike.IsMatch(property.Name) || secretLike.IsMatch(attribute!.Name ?? "")))
                offenders.Add($"{type.Name}.{property.Name} as {attribute!.Name ?? property.Name}");
        }
        foreach (var entry in AuditCatalogue.All.Where(e => AuditedOperation.Of(typeof(AuditCatalogue).Assembly.GetTypes().FirstOrDefault(t => t.Name == e.Source) ?? typeof(object)) is null))
            offenders.AddRange(entry.Properties.Where(p => secretLike.IsMatch(p)).Select(p => $"{entry.Source}.{p}"));
        offenders.ShouldBeEmpty();
    }

    [Fact]
    public void Every_catalogued_operation_names_its_category_operation_and_events()
    {
        AuditCatalogue.All.Count.ShouldBeGreaterThan(12);
        AuditCatalogue.All.Select(e => $"{e.Category}/{e.Operation}").ShouldBeUnique();
        AuditCatalogue.All.ShouldContain(e => e.Category == "User" && e.Operation == "LocalLogin");
    }
}

using System.Reflection;
using System.Xml.Linq;

namespace Seq.Tests.Architecture;

public sealed class DependencyRuleTests
{
    static readonly Assembly Domain = typeof(Seq.Domain.IDomainEvent).Assembly;
    static readonly Assembly Application = typeof(Seq.Application.DependencyInjection).Assembly;

    static IEnumerable<string> ReferencedProjectAssemblies(Assembly assembly) =>
        assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Seq.", StringComparison.Ordinal) || n == "seqsvr");

    static IEnumerable<string> ProjectReferences(string project)
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "Seq.sln")))
            directory = Path.GetDirectoryName(directory);
        directory.ShouldNotBeNull("the tests run from inside the repository");

        return XDocument.Load(Path.Combine(directory, project, project + ".csproj"))
            .Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')));
    }

    [Fact]
    public void The_domain_references_no_other_project()
    {
        ReferencedProjectAssemblies(Domain).ShouldBeEmpty();
        ProjectReferences("Seq.Domain").ShouldBeEmpty();
    }

    [Fact]
    public void The_application_references_only_the_domain()
    {
        ReferencedProjectAssemblies(Application).ShouldBe(["Seq.Domain"]);
        ProjectReferences("Seq.Application").ShouldBe(["Seq.Domain"]);
    }

    [Fact]
    public void The_infrastructure_does_not_reference_the_api()
    {
        ProjectReferences("Seq.Infrastructure").ShouldNotContain("Seq.Api");
    }
}

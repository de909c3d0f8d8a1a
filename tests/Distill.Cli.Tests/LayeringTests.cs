using System.Xml.Linq;

namespace Distill.Cli.Tests;

/// <summary>
/// DESIGN.md §2: arrows point only to what a layer may use. An assembly that references one above
/// it (or beside it, where no arrow is drawn) fails here, so the architecture cannot drift silently.
/// </summary>
public class LayeringTests
{
    static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Distill.Tensors"] = [],
        ["Distill.Text"] = [],
        ["Distill.Data"] = [],
        ["Distill.Models"] = ["Distill.Tensors", "Distill.Text"],
        ["Distill.Training"] = ["Distill.Models"],
        ["Distill.Evaluation"] = ["Distill.Data"],
        ["Distill.Chat"] = ["Distill.Models", "Distill.Text"],
        ["Distill.Methods"] = ["Distill.Training", "Distill.Evaluation", "Distill.Chat", "Distill.Data"],
        ["Distill.Bench"] = ["Distill.Tensors", "Distill.Models", "Distill.Training"],
    };

    static IEnumerable<string> References(string csproj)
        => XDocument.Load(csproj).Descendants("ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value));

    [Fact]
    public void EveryLibraryReferencesOnlyTheLayersBelowIt()
    {
        var root = CliHarness.Root();
        var projects = Directory.GetFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(root, "bench"), "*.csproj", SearchOption.AllDirectories))
            .ToList();
        Assert.Contains(projects, p => p.EndsWith("Distill.Tensors.csproj"));
        var violations = new List<string>();
        foreach (var csproj in projects)
        {
            var name = Path.GetFileNameWithoutExtension(csproj);
            if (name == "Distill.Cli") continue; // the composition root may use everything
            Assert.True(Allowed.ContainsKey(name), $"{name} is not placed in the layer table of DESIGN.md §2 (add it here)");
            violations.AddRange(References(csproj).Where(r => !Allowed[name].Contains(r)).Select(r => $"{name} -> {r}"));
        }
        Assert.True(violations.Count == 0, "references against the layering: " + string.Join(", ", violations));
    }
}

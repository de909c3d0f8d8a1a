using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Distill.Cli.Tests;

/// <summary>
/// docs/architecture.md §2: arrows point only to what a layer may use. Every project of src/, bench/ and tests/ is
/// placed below with its arrows; a project may reference what its arrows reach, directly or through other arrows
/// (Training → Models → Tensors: Training may reference Tensors). One that references anything else (a layer above
/// or beside it, or bench code from the shipped CLI) fails here, and so does a reference declared but never used,
/// so the architecture cannot drift silently.
/// </summary>
public partial class LayeringTests
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
        ["Distill.Report"] = [], // the demo's results contract and report.html; ScottPlot only
        ["Distill.Methods"] = ["Distill.Training", "Distill.Evaluation", "Distill.Chat", "Distill.Data", "Distill.Report"],
        // the composition root: every library layer, never bench/
        ["Distill.Cli"] = ["Distill.Tensors", "Distill.Text", "Distill.Models", "Distill.Data", "Distill.Training", "Distill.Evaluation", "Distill.Chat", "Distill.Methods", "Distill.Report"],
        // the engine's benchmarks and torch_baseline.py's models: engine only, so the engine's tests can use them
        ["Distill.Bench"] = ["Distill.Tensors"],
        // `distill bench ...`: on top of everything, the CLI included (its verbs and error path)
        ["Distill.Bench.Cli"] = ["Distill.Cli", "Distill.Bench", "Distill.Tensors", "Distill.Text", "Distill.Models", "Distill.Data", "Distill.Training"],
        // a test project sees its own layer and what that reaches (plus what the comment says)
        ["Distill.Tensors.Tests"] = ["Distill.Tensors", "Distill.Bench"], // golden and end-to-end subjects: torch_baseline.py's models
        ["Distill.Text.Tests"] = ["Distill.Text"],
        ["Distill.Data.Tests"] = ["Distill.Data"],
        ["Distill.Models.Tests"] = ["Distill.Models", "Distill.Training"], // the NF4 fidelity test trains its subject from scratch through the Trainer
        ["Distill.Training.Tests"] = ["Distill.Training"],
        ["Distill.Export.Tests"] = ["Distill.Models", "Distill.Training"], // exports checked by llama.cpp (LLamaSharp) and @huggingface/gguf; subjects trained from scratch
        ["Distill.Evaluation.Tests"] = ["Distill.Evaluation"],
        ["Distill.Chat.Tests"] = ["Distill.Chat", "CacheWriter"],  // CacheWriter: the child process of the crash test
        ["Distill.Methods.Tests"] = ["Distill.Methods"],
        ["Distill.Report.Tests"] = ["Distill.Report"],
        ["Distill.Cli.Tests"] = ["Distill.Cli", "Distill.Bench.Cli"],
        ["CacheWriter"] = ["Distill.Chat"],
    };

    static List<string> Projects()
    {
        var root = CliHarness.Root();
        return new[] { "src", "bench", "tests" }
            .SelectMany(d => Directory.GetFiles(Path.Combine(root, d), "*.csproj", SearchOption.AllDirectories))
            .ToList();
    }

    static IEnumerable<string> References(string csproj)
        => XDocument.Load(csproj).Descendants("ProjectReference")
            .Select(e => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(csproj)!, e.Attribute("Include")!.Value)));

    /// <summary>Everything <paramref name="name"/>'s arrows reach, transitively.</summary>
    static HashSet<string> Reach(string name)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>(Allowed.GetValueOrDefault(name, []));
        while (todo.TryPop(out var n))
            if (seen.Add(n)) foreach (var m in Allowed.GetValueOrDefault(n, [])) todo.Push(m);
        return seen;
    }

    static string Name(string csproj) => Path.GetFileNameWithoutExtension(csproj);

    static IEnumerable<string> Sources(string csproj) =>
        Directory.GetFiles(Path.GetDirectoryName(csproj)!, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    [GeneratedRegex(@"^\s*(?:public\s+|internal\s+)?(?:static\s+|sealed\s+|abstract\s+|partial\s+|readonly\s+|ref\s+)*(?:class|record|struct|interface|enum)\s+(?:class\s+|struct\s+)?(\w+)", RegexOptions.Multiline)]
    private static partial Regex TypeDeclaration();

    static HashSet<string> DeclaredTypes(string csproj) =>
        Sources(csproj).SelectMany(f => TypeDeclaration().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Where(n => n != "Program").ToHashSet(StringComparer.Ordinal);

    [Fact]
    public void EveryProjectReferencesOnlyWhatItsLayerMayUse()
    {
        var projects = Projects();
        Assert.Contains(projects, p => p.EndsWith("Distill.Tensors.csproj"));
        Assert.Contains(projects, p => p.EndsWith("Distill.Cli.Tests.csproj"));
        var violations = new List<string>();
        foreach (var csproj in projects)
        {
            var name = Name(csproj);
            Assert.True(Allowed.ContainsKey(name), $"{name} is not placed in the layer table (docs/architecture.md §2; add it here)");
            var reach = Reach(name);
            violations.AddRange(References(csproj).Select(Name).Where(r => !reach.Contains(r)).Select(r => $"{name} -> {r}"));
        }
        Assert.True(violations.Count == 0, "references against the layering: " + string.Join(", ", violations));
    }

    /// <summary>
    /// A declared reference is used when the referencing project's code names one of the types the referenced project
    /// declares (a type it declares itself does not count), or, for a program started as a child process, its file name.
    /// </summary>
    [Fact]
    public void EveryDeclaredReferenceIsUsed()
    {
        var unused = new List<string>();
        foreach (var csproj in Projects())
        {
            var own = DeclaredTypes(csproj);
            var code = string.Join('\n', Sources(csproj).Select(File.ReadAllText));
            foreach (var reference in References(csproj))
            {
                var types = DeclaredTypes(reference).Where(t => !own.Contains(t)).ToList();
                bool used = types.Any(t => Regex.IsMatch(code, $@"\b{t}\b")) || code.Contains(Name(reference) + ".dll", StringComparison.Ordinal);
                if (!used) unused.Add($"{Name(csproj)} -> {Name(reference)}");
            }
        }
        Assert.True(unused.Count == 0, "declared but unused project references: " + string.Join(", ", unused));
    }
}

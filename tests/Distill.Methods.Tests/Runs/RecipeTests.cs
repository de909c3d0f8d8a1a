using Distill.Methods.Runs;

namespace Distill.Methods.Tests.Runs;

public class RecipeTests
{
    const string Minimal = "name: t\nmethod: sft\nstudent:\n  model: /models/tiny\n";

    static RecipeException Fails(string yaml, params string[] sets) => Assert.Throws<RecipeException>(() => Recipe.Parse(yaml, "r.yaml", sets));

    [Fact]
    public void UnknownKey_IsAnError_NamingFileLineAndKey()
    {
        var e = Fails(Minimal + "train:\n  lr: 1e-4\n  epocs: 3\n");
        Assert.Equal("r.yaml:7: key 'train.epocs': unknown key (did you mean 'train.epochs'?)", e.Message);
        Assert.Equal(7, e.Line);
    }

    [Fact]
    public void WrongKind_NamesLineAndKey()
    {
        Assert.Equal("r.yaml:6: key 'train.lr': 'fast' is not a number", Fails(Minimal + "train:\n  lr: fast\n").Message);
        Assert.StartsWith("r.yaml:6: key 'data.view': 'code' is not one of gen, sum", Fails(Minimal + "data:\n  view: code\n").Message);
        Assert.StartsWith("r.yaml:5: key 'train': is a section", Fails(Minimal + "train: 3\n").Message);
    }

    [Fact]
    public void MalformedYaml_NamesTheLine()
    {
        var e = Fails("name: t\nmethod: sft\nstudent:\n  model: [unclosed\n");
        Assert.StartsWith("r.yaml:", e.Message);
        Assert.Contains("malformed YAML", e.Message);
        Assert.NotNull(e.Line);
    }

    [Fact]
    public void MissingRequired_AndMethodNeeds()
    {
        Assert.Equal("r.yaml: key 'student.model': give exactly one of student.model (a model folder) and student.init (a preset the run initializes)", Fails("method: sft\n").Message);
        Assert.StartsWith("r.yaml: key 'student.model': give exactly one", Fails(Minimal + "  init: tiny\n").Message);
        Assert.Equal("r.yaml: key 'student.init': 'huge' is not a preset (" + string.Join(", ", Distill.Models.ModelPresets.Names) + ")",
            Fails("method: sft\nstudent:\n  init: huge\n").Message);
        // student.init / teacher.init may also name a config.json (a shape no preset has; `distill demo` uses it)
        Assert.Equal("r.yaml: key 'student.init': '/no/such/config.json': no such config.json", Fails("method: sft\nstudent:\n  init: /no/such/config.json\n").Message);
        var config = Path.Combine(Directory.CreateTempSubdirectory("distill-recipe-").FullName, "config.json");
        File.WriteAllText(config, "{}");
        Assert.Equal(config, Recipe.Parse($"method: sft\nstudent:\n  init: \"{config}\"\n", "r.yaml").String("student.init"));
        Assert.Contains("key 'train.kd.beta': must be in (0, 1)", Fails(Minimal + "train:\n  kd:\n    beta: 1\n").Message);
        Assert.Contains("key 'teacher.init_steps': fine-tunes a teacher the run makes: give teacher.init too",
            Fails(Minimal.Replace("sft", "seqkd") + "teacher:\n  model: /t\n  init_steps: 5\n").Message);
        Assert.Contains("needs a teacher", Fails(Minimal.Replace("sft", "seqkd")).Message);
        Assert.Equal("seqkd", Recipe.Parse(Minimal.Replace("sft", "seqkd") + "teacher:\n  init: tiny\n", "r.yaml").Method);
        Assert.Contains("logits", Fails(Minimal.Replace("sft", "token-kd") + "teacher:\n  model: openai:gpt-4o\n").Message);
    }

    [Fact]
    public void SetOverridesDottedPaths_AndRejectsUnknownKeys()
    {
        var r = Recipe.Parse(Minimal, "r.yaml", ["train.lr=1e-3", "train.kd.divergence=js", "student.adapter.target_modules=[q_proj, v_proj]", "data.n=7"]);
        Assert.Equal(1e-3, r.Float("train.lr"));
        Assert.Equal("js", r.String("train.kd.divergence"));
        Assert.Equal(["q_proj", "v_proj"], r.List("student.adapter.target_modules"));
        Assert.Equal(7, r.Int("data.n"));
        Assert.Equal("--set: key 'train.lrr': unknown key (did you mean 'train.lr'?)", Fails(Minimal, "train.lrr=1").Message);
        Assert.Equal("--set: key 'train.lr': 'x' is not a number", Fails(Minimal, "train.lr=x").Message);
        Assert.Contains("is not KEY=VALUE", Fails(Minimal, "train.lr").Message);
    }

    [Fact]
    public void ResolvedRecipe_WritesEveryDefault_AndReadsBackEqual()
    {
        var r = Recipe.Parse(Minimal, "r.yaml", ["teacher.system_prompt=say \"hi\"\\n: ok"]);
        var yaml = r.ToYaml();
        foreach (var k in RecipeSchema.Keys) Assert.Contains(k.Path.Split('.')[^1] + ":", yaml);
        Assert.Contains("  kd:\n    divergence: \"forward_kl\"", yaml);
        Assert.Contains("lr: 0.0002", yaml);
        var back = Recipe.Parse(yaml, "resolved.yaml");
        Assert.Null(r.FirstDifference(back));
        Assert.Equal("train.lr", Recipe.Parse(Minimal, "r.yaml").FirstDifference(Recipe.Parse(Minimal, "r.yaml", ["train.lr=1"])));
    }

    [Fact]
    public void ApiKeysAreNotRecipeKeys()
    {
        Assert.Contains("API keys never go in a recipe", Fails(Minimal + "teacher:\n  api_key: sk-123\n").Message);
        var name = "DISTILL_TEST_RECIPE_KEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "sk-canary-recipe-0123456789");
        try
        {
            var e = Fails(Minimal + $"teacher:\n  api_key_env: {name}\n  model: openai:m@http://x:sk-canary-recipe-0123456789@localhost/v1\n");
            Assert.Contains("teacher.model", e.Message);
            Assert.DoesNotContain("sk-canary", e.Message);
        }
        finally { Environment.SetEnvironmentVariable(name, null); }
    }

    /// <summary>docs/recipes.md's key table lists every key of the schema, and no other.</summary>
    [Fact]
    public void DocsListEveryRecipeKey()
    {
        var doc = Distill.Data.RepoData.Find("..", "docs", "recipes.md") ?? throw new InvalidOperationException("docs/recipes.md not found");
        var documented = File.ReadLines(doc).Where(l => l.StartsWith("| `", StringComparison.Ordinal)).Select(l => l.Split('`')[1]).ToList();
        Assert.Equal(RecipeSchema.Keys.Select(k => k.Path), documented);
    }
}

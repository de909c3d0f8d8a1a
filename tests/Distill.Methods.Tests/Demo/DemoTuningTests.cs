using Distill.Data.BuiltInTask;
using Distill.Methods.Demo;
using Distill.Methods.Runs;
using Distill.Report;

namespace Distill.Methods.Tests.Demo;

/// <summary>
/// `distill demo --tune` (issue 16 §1: hyperparameters are chosen on the distill shard, never on the test shard): the
/// validation slice is part of the distill shard, disjoint from the problems the candidates train on and from the test
/// shard; the chosen per-method settings reach the recipes; the choice rule.
/// </summary>
public sealed class DemoTuningTests
{
    [Theory]
    [InlineData("standard", 0)]
    [InlineData("standard", 3)]
    [InlineData("quick", 0)]
    public void ValidationSlice_IsDistillShard_DisjointFromSelectionTraining_AndFromTheTestShard(string preset, int seed)
    {
        var p = DemoPreset.Get(preset);
        var (train, validation) = DemoTuning.Split(p, seed);
        Assert.Equal(p.TuneValidationProblems, validation.Count);
        Assert.Equal(p.DistillProblems - p.TuneValidationProblems, train.Count);
        Assert.All(train.Concat(validation), q => Assert.Equal(Shard.Distill, q.Shard));

        // disjoint by id, by behaviour and by prompt text from the problems trained on during selection
        Assert.Empty(validation.Select(q => q.TaskId).Intersect(train.Select(q => q.TaskId)));
        Assert.Empty(validation.Select(q => q.BehaviourHash).Intersect(train.Select(q => q.BehaviourHash)));
        Assert.Empty(validation.Select(q => q.Prompt).Intersect(train.Select(q => q.Prompt)));

        // and from the test shard the demo evaluates on (the whole of it the preset draws)
        var test = TaskGenerator.Generate(Shard.Test, p.TestProblems, (ulong)seed, p.MaxDifficulty);
        Assert.Empty(validation.Select(q => q.BehaviourHash).Intersect(test.Select(q => q.BehaviourHash)));
        Assert.Empty(validation.Select(q => q.Prompt).Intersect(test.Select(q => q.Prompt)));

        // together they are the demo's distill shard, and the split is a function of the seed
        var distill = TaskGenerator.Generate(Shard.Distill, p.DistillProblems, (ulong)seed, p.MaxDifficulty);
        Assert.Equal(distill.Select(q => q.TaskId).Order(), train.Concat(validation).Select(q => q.TaskId).Order());
        Assert.Equal(validation.Select(q => q.TaskId), DemoTuning.Split(p, seed).Validation.Select(q => q.TaskId));
    }

    [Fact]
    public void ValidationSlice_MustLeaveProblemsToTrainOn()
    {
        var e = Assert.Throws<ArgumentException>(() => DemoTuning.Split(DemoPreset.Quick with { TuneValidationProblems = DemoPreset.Quick.DistillProblems }, 0));
        Assert.Contains("TuneValidationProblems", e.Message);
    }

    static Recipe RecipeOf(string method, DemoPreset p, DemoMethodSettings? settings = null)
    {
        var paths = new DemoPaths("/tmp/demo") { DistillDataOverride = "/tmp/demo/tune/data/select-train.jsonl" };
        var yaml = DemoMethods.Recipe(DemoMethods.All.Single(m => m.Name == method), p, 0, paths, "openai:demo-teacher@http://127.0.0.1:9/v1", settings: settings);
        return Recipe.Parse(yaml, method + ".yaml");
    }

    [Fact]
    public void PerMethodSettings_ReachTheRecipe_OthersKeepThePresetsCommonOnes()
    {
        var p = DemoPreset.Standard with
        {
            MethodLr = 2e-3, MethodSteps = 128,
            Methods = new Dictionary<string, DemoMethodSettings> { ["dpo-kd-offline"] = new(5e-4, 96, SftWeight: 1, Beta: 0.2), ["plad-rank"] = new(2e-4, 128, SftWeight: 1) },
        };
        var dpo = RecipeOf("dpo-kd-offline", p);
        Assert.Equal(5e-4, dpo.Float("train.lr"));
        Assert.Equal(96, dpo.Int("train.max_steps"));
        Assert.Equal(1.0, dpo.Float("preference.sft_weight"));
        Assert.Equal(0.2, dpo.Float("preference.beta"));
        Assert.Equal("/tmp/demo/tune/data/select-train.jsonl", dpo.String("data.source"));

        var plad = RecipeOf("plad-rank", p);
        Assert.Equal(2e-4, plad.Float("train.lr"));
        Assert.Equal(1.0, plad.Float("preference.sft_weight"));
        Assert.Equal("plad-rank", plad.String("preference.loss"));

        // untuned: the preset's common lr and steps, DPO's β 0.1, no NLL term
        var online = RecipeOf("dpo-kd-online", p);
        Assert.Equal(2e-3, online.Float("train.lr"));
        Assert.Equal(128, online.Int("train.max_steps"));
        Assert.Equal(0.1, online.Float("preference.beta"));
        Assert.Equal(0.0, online.Float("preference.sft_weight"));
        Assert.Equal(2e-3, RecipeOf("seqkd", p).Float("train.lr"));

        // an explicit candidate overrides the preset's entry
        Assert.Equal(2e-3, RecipeOf("dpo-kd-offline", p, new DemoMethodSettings(2e-3, 128)).Float("train.lr"));
    }

    [Fact]
    public void Grid_CoversThePresetsOldSetting_AndLeavesPersdOut()
    {
        var p = DemoPreset.Standard with { Methods = new Dictionary<string, DemoMethodSettings>() };
        var grid = DemoTuning.Grid(p);
        Assert.DoesNotContain(grid, c => c.Method.StartsWith("persd", StringComparison.Ordinal));
        foreach (var m in DemoMethods.All.Where(m => m.Family != "persd"))
            Assert.Contains(grid, c => c.Method == m.Name && c.Settings == p.For(m.Name));
        Assert.Equal(grid.Count, grid.Select(c => c.Id).Distinct().Count());
        Assert.Equal(["dpo-kd-offline"], DemoTuning.Grid(p, ["dpo-kd-offline"]).Select(c => c.Method).Distinct());
    }

    [Fact]
    public void Choose_TakesTheBestValidationPass1_TiesGoToThePresetsSetting()
    {
        var p = DemoPreset.Standard with { MethodLr = 2e-3, MethodSteps = 128, Methods = new Dictionary<string, DemoMethodSettings>() };
        DemoTuneRow Row(string m, double lr, double sft, double pass1) => new(new DemoCandidate(m, new(lr, 128, sft)), new Estimate(pass1, 0, 1, 64), 1, 1);
        var chosen = DemoTuning.Choose(
        [
            Row("sft", 5e-4, 0, 0.10), Row("sft", 2e-3, 0, 0.10),
            Row("plad-rank", 2e-4, 1, 0.15), Row("plad-rank", 2e-3, 0, 0.05), Row("plad-rank", 5e-4, 0, 0.15),
        ], p);
        Assert.Equal(2e-3, chosen["sft"].Candidate.Settings.Lr);
        Assert.Equal(new DemoMethodSettings(2e-4, 128, 1), chosen["plad-rank"].Candidate.Settings);
    }

    [Fact]
    public async Task Tune_WithoutTheDemosBase_SaysWhatToRunFirst()
    {
        var dir = Directory.CreateTempSubdirectory("distill-demo-tune-").FullName;
        try
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => DemoTuning.RunAsync(DemoPreset.Quick, dir, 0, DemoTuning.Grid(DemoPreset.Quick, ["sft"]), TextWriter.Null));
            Assert.Contains("distill demo --preset quick", e.Message);
            Assert.Contains("student start", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

using Distill.Methods.Preference;
using Distill.Methods.Runs;
using Distill.Methods.Training;

namespace Distill.Methods.Tests.Training;

/// <summary>train.packed_weights_mb reaches the trainer: −1 automatic, 0 none, N megabytes; anything below −1 is refused by name.</summary>
public class PackedWeightsBudgetTests
{
    const string Dpo = "name: t\nmethod: dpo-kd-offline\nstudent:\n  model: /models/tiny\nteacher:\n  model: /models/teacher\n";

    [Theory]
    [InlineData(null, -1L)]
    [InlineData("0", 0L)]
    [InlineData("300", 300L << 20)]
    public void The_recipe_key_sets_the_trainers_budget(string? mb, long bytes)
    {
        var r = Recipe.Parse(Dpo, "r.yaml", mb is null ? [] : [$"train.packed_weights_mb={mb}"]);
        Assert.Equal(bytes, PreferenceRecipe.Trainer(r).PackedWeightsBudget);
    }

    [Fact]
    public void A_negative_budget_other_than_automatic_is_refused_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainingSetup.PackedWeightsBudget(-2));
        Assert.Contains("train.packed_weights_mb", e.Message);
    }
}

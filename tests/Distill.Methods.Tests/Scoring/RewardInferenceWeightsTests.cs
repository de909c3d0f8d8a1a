using Distill.Methods.Scoring;
using Distill.Models;

namespace Distill.Methods.Tests.Scoring;

/// <summary>
/// The reward model behind `--weights` (LocalRewardModel.Load(..., weights)): LlamaForSequenceClassification's body in
/// q8_0, q8row or bf16, the 1 × hidden score head in float. Scores stay within a stated bound of f32, relative to the
/// spread of the rewards (what a reward model is used for: comparing answers), and the order of the answers is kept.
/// </summary>
public class RewardInferenceWeightsTests
{
    static readonly (string, string)[] Items =
    [
        ("Write a function that adds two numbers.", "def add(a, b):\n    return a + b"),
        ("Write a function that adds two numbers.", "I am not sure."),
        ("Name a prime.", "7"),
        ("Name a prime.", "Eight is not prime; seven is."),
        ("Summarize: the cat sat on the mat.", "A cat sat."),
        ("Summarize: the cat sat on the mat.", "The cat sat on the mat, which was red, and then it slept for a long time."),
        ("Reverse a list in Python.", "xs[::-1]"),
        ("Reverse a list in Python.", "Use a for loop that appends each element to the front of a new list."),
    ];

    [Theory]
    [InlineData("q8", 0.05)]
    [InlineData("q8row", 0.05)]
    [InlineData("bf16", 0.01)]
    public void ScoresStayWithinTheStatedBoundOfF32(string format, double relativeBound)
    {
        var dir = LocalRewardModelTests.MakeRewardModel(edit: j => j["pad_token_id"] = 50256);
        using var f32 = LocalRewardModel.Load(dir, batchSize: 4);
        using var quant = LocalRewardModel.Load(dir, batchSize: 4, weights: InferenceWeightsNames.Parse(format));
        var a = f32.Rewards(Items);
        var b = quant.Rewards(Items);
        double spread = a.Max() - a.Min(), worst = a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
        Console.WriteLine($"reward {format} vs f32: max |Δr| {worst:G4}, spread of f32 rewards {spread:G4} ({worst / spread:P2})");
        Assert.True(spread > 0, "the rewards must differ between answers");
        Assert.True(b.Zip(a).Any(p => p.First != p.Second), $"{format}: scores identical to f32 — the inference weights were not used");
        // Stated in docs/models.md: max |Δr| ≤ 5 % of the spread for the 8-bit formats, ≤ 1 % for bf16.
        Assert.True(worst <= relativeBound * spread, $"{format}: max |Δr| {worst:G4} > {relativeBound:P0} of the spread {spread:G4}");
        // Pairs whose f32 rewards differ by more than 2·max|Δr| keep their order.
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < a.Length; j++)
                if (a[i] - a[j] > 2 * worst) Assert.True(b[i] > b[j], $"{format}: items {i} and {j} swapped");
    }
}

using Distill.Methods.DpoKd;
using Distill.Methods.Preference;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Training;
using Distill.Training.Objectives;

namespace Distill.Methods.Tests.Preference;

/// <summary>student.inference_weights = q8 inside a pipeline: the student samples on an 8-bit base beside its float adapter.</summary>
public class Q8SamplingTests
{
    [Fact]
    public void StudentPolicyHoldsAnEightBitBaseBesideTheTrainableAdapter()
    {
        string root = Directory.CreateTempSubdirectory("q8policy").FullName;
        string student = TinyLm.Make(root);
        var lora = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["q_proj", "v_proj"] };
        using var model = StudentPolicy.Load(student, lora, qlora: false, adapterDir: null, seed: 1, InferenceWeights.Q8);
        Assert.Equal(InferenceWeights.Q8, model.InferenceWeights);
        Assert.All(model.Linears, l => Assert.NotNull(l.Inference)); // hidden 32 and intermediate 64: every linear fits
        Assert.All(LoraModel.Branches(model), b => Assert.True(b.A.Trainable && b.B.Trainable));
        // without an adapter every weight trains: nothing is quantized
        using var full = StudentPolicy.Load(student, null, qlora: false, adapterDir: null, seed: 1, InferenceWeights.Q8);
        Assert.All(full.Linears, l => Assert.Null(l.Inference));
    }

    [Fact]
    public void OnlineDpoKdRunsWithEightBitSampling()
    {
        string root = Directory.CreateTempSubdirectory("q8dpokd").FullName;
        string student = TinyLm.Make(root);
        var options = new DpoKdOptions
        {
            Online = true, Iterations = 2, DropTruncated = false, SamplingWeights = InferenceWeights.Q8,
            Sampling = new SamplingSettings(N: 1, Temperature: 1f, MaxNewTokens: 5, Seed: 7),
            Loss = new PreferenceOptions(PreferenceLossKind.Dpo, Beta: 0.1f),
            Trainer = new TrainerOptions { Epochs = 1, BatchSize = 1, LearningRate = 5e-3f, MaxLength = 64, SaveSteps = 1, Seed = 1 },
            Lora = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["q_proj", "v_proj"] },
        };
        Answer?[] teacher = [new("def add(a, b):\n    return a + b", "teacher"), new("A cat sat.", "teacher")];
        var result = new DpoKdLoop(options, student, ["Write a function that adds two numbers.", "Summarize: the cat sat on the mat."], teacher, Path.Combine(root, "on")).Run();
        Assert.True(result.Completed);
        Assert.Equal(2, result.Rounds.Count);
        Assert.All(result.Rounds, r => Assert.Equal(2, r.Kept));
    }
}

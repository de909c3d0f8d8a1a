using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors.Kernels.Losses;
using Distill.Training.Data;
using Distill.Training.Objectives;
using TrainerLoop = Distill.Training.Trainer;

namespace Distill.Training.Tests.Trainer;

/// <summary>
/// The trainer packs the frozen weights for its run (CausalLM.PackFrozenWeights): the model's both ways, a KD teacher's
/// forward-only, within the budget, dropped at the end — and the run's metrics and final adapter are the same bytes as
/// a run that packs nothing (TrainerOptions.PackedWeightsBudget = 0).
/// </summary>
public class PackedWeightsTests
{
    static TrainerOptions Options(long budget) => new()
    {
        BatchSize = 2, MaxSteps = 3, MaxLength = 32, LearningRate = 1e-2f, Shuffle = false, SaveSteps = 0,
        Schedule = Distill.Tensors.Optim.ScheduleKind.Constant, Lora = TinySetup.Lora(), PackedWeightsBudget = budget,
    };

    public static TheoryData<string> Objectives => new() { "sft", "token-kd", "dpo" };

    [Theory, MemberData(nameof(Objectives))]
    public void A_packed_run_writes_the_same_metrics_and_adapter_as_an_unpacked_one(string objective)
    {
        (string Metrics, byte[] Adapter) Run(long budget, out PackedWeightsReport? packed, out bool packedAfter)
        {
            using var model = TinySetup.Model(31);
            LoraModel.Apply(model, TinySetup.Lora(), 32);
            using var teacher = TinySetup.Model(33);
            var (obj, data) = Make(objective, teacher);
            string dir = TinySetup.TempDir();
            try
            {
                using (var trainer = new TrainerLoop(Options(budget), obj, data, model, dir))
                {
                    trainer.Step();
                    packed = trainer.PackedWeights;
                    if (budget != 0) Assert.Contains(model.Weights, w => w.Parameter.Value.Packed is not null);
                    trainer.Run();
                }
                packedAfter = model.Weights.Any(w => w.Parameter.Value.Packed is not null) || teacher.Weights.Any(w => w.Parameter.Value.Packed is not null);
                string metrics = string.Join("\n", File.ReadAllLines(Path.Combine(dir, TrainerLoop.MetricsFile)).Select(MetricsWriter.Deterministic));
                var adapter = File.ReadAllBytes(Path.Combine(dir, "adapter", "adapter_model.safetensors"));
                return (metrics, adapter);
            }
            finally { (obj as IDisposable)?.Dispose(); Directory.Delete(dir, true); }
        }

        var plain = Run(0, out var none, out _);
        var packed = Run(-1, out var report, out bool packedAfter);
        Assert.Null(none);
        Assert.NotNull(report);
        // every frozen linear of the student (q, k, v, o, gate, up, down × 2 layers, lm_head) and, for KD, the teacher's too
        Assert.Equal(objective == "token-kd" ? 30 : 15, report!.Packed);
        Assert.False(packedAfter);
        Assert.Equal(plain.Metrics, packed.Metrics);
        Assert.Equal(plain.Adapter, packed.Adapter);
    }

    [Fact]
    public void The_budget_bounds_what_is_packed()
    {
        using var model = TinySetup.Model(41);
        LoraModel.Apply(model, TinySetup.Lora(), 42);
        var all = model.PackFrozenWeights(long.MaxValue);
        model.UnpackFrozenWeights();
        Assert.DoesNotContain(model.Weights, w => w.Parameter.Value.Packed is not null);
        var some = model.PackFrozenWeights(all.Bytes / 2);
        Assert.True(some.Packed > 0 && some.Skipped > 0 && some.Bytes <= all.Bytes / 2, some.ToString());
        Assert.Equal(all.Packed, some.Packed + some.Skipped);
        // a weight set anew drops its stale panels
        var layer = model.Linears.First(l => l.Weight?.Value.Packed is not null);
        layer.SetDenseWeight(new float[layer.InFeatures * layer.OutFeatures]);
        Assert.Null(layer.Weight!.Value.Packed);
        model.UnpackFrozenWeights();
    }

    static (IObjective, List<TrainingExample>) Make(string objective, CausalLM teacher) => objective switch
    {
        "sft" => (new SftObjective(), TinySetup.Completions(6, 5)),
        "token-kd" => (new TokenKdObjective(teacher, new DivergenceOptions(DivergenceKind.ForwardKl)), TinySetup.Completions(6, 6)),
        _ => (new PreferenceObjective(new PreferenceOptions(PreferenceLossKind.Dpo)), TinySetup.Pairs(6, 7)),
    };
}

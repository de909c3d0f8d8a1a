using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Training.Objectives;
using TrainerLoop = Distill.Training.Trainer;

namespace Distill.Training.Tests.Trainer;

/// <summary>
/// Resume equality in-process: a run interrupted by an exception at some step (checkpoints every 3 steps) and
/// resumed writes the same metrics (wall-clock fields aside) and the same adapter as an uninterrupted one, with
/// LoRA dropout, shuffling and bucketing on so every generator is exercised. The kill -9 version runs the CLI as a
/// child process (tests/Distill.Cli.Tests/TrainResumeTests.cs).
/// </summary>
public class ResumeTests
{
    sealed class CrashAt(int microBatch) : IObjective
    {
        readonly SftObjective _sft = new();
        int _calls;
        public string Name => "sft";
        public void Initialize(TrainingContext context) { }
        public MicroBatch Prepare(IReadOnlyList<int> indices, TrainingContext context, Rng rng) => _sft.Prepare(indices, context, rng);
        public ObjectiveOutput Step(Tape tape, MicroBatch batch, float weight, TrainingContext context)
            => ++_calls == microBatch ? throw new IOException("simulated crash") : _sft.Step(tape, batch, weight, context);
    }

    static TrainerOptions Options(bool resume) => new()
    {
        BatchSize = 2, GradientAccumulation = 2, Epochs = 2, MaxLength = 32, LearningRate = 5e-3f, WarmupSteps = 2,
        Schedule = Distill.Tensors.Optim.ScheduleKind.Cosine, SaveSteps = 3, Lora = TinySetup.Lora(dropout: 0.2), GroupByLength = true, Resume = resume,
    };

    static (List<string> Metrics, byte[] Adapter) Run(string dir, IObjective objective, bool resume)
    {
        var data = TinySetup.Completions(22, 2);
        using var model = TinySetup.Model(81);
        LoraModel.Apply(model, TinySetup.Lora(dropout: 0.2), 82);
        var t = new TrainerLoop(Options(resume), objective, data, model, dir);
        t.Run();
        return (File.ReadAllLines(Path.Combine(dir, TrainerLoop.MetricsFile)).Select(MetricsWriter.Deterministic).ToList(),
            File.ReadAllBytes(Path.Combine(t.FinalDir, "adapter_model.safetensors")));
    }

    [Theory]
    [InlineData(9)]    // mid-step, after the checkpoint of step 3 (micro-batch 9 is in step 5)
    [InlineData(13)]   // first micro-batch of step 7, right after the checkpoint of step 6
    [InlineData(2)]    // before any checkpoint: resume starts over
    public void Interrupted_and_resumed_equals_uninterrupted(int crashMicroBatch)
    {
        string a = TinySetup.TempDir(), b = TinySetup.TempDir();
        var (metrics, adapter) = Run(a, new SftObjective(), resume: false);
        Assert.Equal(12, metrics.Count);   // 22 examples / 2 = 11 micro-batches → 6 steps per epoch × 2 epochs
        Assert.Throws<IOException>(() => Run(b, new CrashAt(crashMicroBatch), resume: false));
        var (metricsB, adapterB) = Run(b, new SftObjective(), resume: true);
        Assert.Equal(metrics, metricsB);
        Assert.Equal(adapter, adapterB);
        Directory.Delete(a, true);
        Directory.Delete(b, true);
    }
}

using System.Text.Json;
using Distill.Tensors.Autograd;
using Distill.Tensors.Optim;

namespace Distill.Tensors.Tests.Optim;

/// <summary>
/// AdamW, SGD and clipping against trajectories of torch.optim (reference/optim_reference.py, output
/// committed as optim_reference.json). Both sides compute in float32 with the same operation order
/// up to fused multiply-adds, so values agree to a few ulps: tolerance 2e-6 absolute on O(1) values.
/// </summary>
public class OptimizerTests
{
    const int N = 7;

    static void Run(string key, Func<Parameter, Action> makeStep)
    {
        var traj = Reference.Json("optim_reference.json").GetProperty(key);
        using var p = new Parameter("p", N);
        for (int i = 0; i < N; i++) p.Span[i] = (float)Math.Sin(0.37 * i + 0.1);
        var step = makeStep(p);
        int t = 0;
        foreach (var expected in traj.EnumerateArray())
        {
            for (int i = 0; i < N; i++) p.Grad!.Span[i] = (float)(Math.Cos(0.7 * i + 1.3 * t) * (1 + 0.5 * t));
            step();
            int j = 0;
            foreach (var e in expected.EnumerateArray())
            {
                Assert.True(Math.Abs(p.Span[j] - e.GetDouble()) <= 2e-6, $"{key} step {t} [{j}]: {p.Span[j]} vs torch {e.GetDouble()}");
                j++;
            }
            t++;
        }
        Assert.Equal(6, t);
    }

    [Fact] public void AdamWMatchesTorch() => Run("adamw", p => new AdamW([p], lr: 0.05f, weightDecay: 0.1f).Step);
    [Fact] public void AdamWWithoutDecayMatchesTorch() => Run("adamw_wd0", p => new AdamW([p], lr: 1e-4f, weightDecay: 0f).Step);
    [Fact] public void SgdWithMomentumMatchesTorch() => Run("sgd_momentum", p => new Sgd([p], lr: 0.1f, momentum: 0.9f, weightDecay: 0.01f).Step);
    [Fact] public void SgdMatchesTorch() => Run("sgd", p => new Sgd([p], lr: 0.1f).Step);

    [Fact]
    public void ClipGlobalNormMatchesTorch()
    {
        var r = Reference.Json("optim_reference.json").GetProperty("clip");
        using var p = new Parameter("p", N);
        for (int i = 0; i < N; i++) p.Grad!.Span[i] = (float)Math.Cos(0.7 * i);
        float norm = GradClip.ClipGlobalNorm([p], 1.0f);
        Assert.Equal(r.GetProperty("norm").GetDouble(), norm, 5);
        int j = 0;
        foreach (var e in r.GetProperty("grad").EnumerateArray()) Assert.Equal(e.GetDouble(), p.Grad!.Span[j++], 6);
    }

    [Fact]
    public void FrozenParametersAreSkippedAndHaveNoGradient()
    {
        using var frozen = new Parameter("w", 3) { Trainable = false };
        frozen.Span.Fill(2f);
        using var opt = new AdamW([frozen], lr: 1f);
        opt.Step();
        Assert.Null(frozen.Grad);
        Assert.Empty(opt.Parameters);
        Assert.Equal(2f, frozen.Span[0]);
    }

    // Hugging Face get_{constant,linear,cosine}_schedule_with_warmup at hand-computed points.
    [Theory]
    [InlineData(ScheduleKind.Constant, 0, 0.0)]
    [InlineData(ScheduleKind.Constant, 5, 0.5)]
    [InlineData(ScheduleKind.Constant, 50, 1.0)]
    [InlineData(ScheduleKind.Linear, 10, 1.0)]
    [InlineData(ScheduleKind.Linear, 55, 0.5)]
    [InlineData(ScheduleKind.Linear, 100, 0.0)]
    [InlineData(ScheduleKind.Cosine, 10, 1.0)]
    [InlineData(ScheduleKind.Cosine, 55, 0.5)]
    [InlineData(ScheduleKind.Cosine, 32, 0.8596699001693255)] // ½(1 + cos(π·22/90))
    [InlineData(ScheduleKind.Cosine, 100, 0.0)]
    public void SchedulesWithWarmup(ScheduleKind kind, int step, double expected)
    {
        var s = new LrSchedule(kind, 1.0f, WarmupSteps: 10, TotalSteps: 100);
        s.Validate();
        Assert.Equal(expected, s.At(step), 5);
    }
}

namespace Distill.Bench;

/// <summary>
/// One training step (forward + cross-entropy + backward + AdamW) on the configs that
/// ../shared/bench/torch_baseline.py measures in PyTorch. (Skeleton: filled by the engine issue.)
/// </summary>
public static class TrainStepBench
{
    public static IReadOnlyList<string> Configs { get; } = ["bench-small", "bench-small-llama", "bench-small-lora", "gpt2-124M"];

    public static TrainResult Measure(string config, int warmupSteps, int timedSteps, IProgress<string>? log = null)
        => throw new NotImplementedException("TrainStepBench: not built yet (issue 2)");
}

namespace Distill.Tensors.Optim;

/// <summary>
/// Learning-rate schedules with linear warmup, as Hugging Face transformers' get_*_schedule_with_warmup:
/// during warmup lr·step/warmup; then constant, linear to 0 at totalSteps, or cosine
/// lr·½(1 + cos(π·progress)), progress = (step − warmup)/(total − warmup).
/// </summary>
public enum ScheduleKind { Constant, Linear, Cosine }

public sealed record LrSchedule(ScheduleKind Kind, float BaseLr, int WarmupSteps, int TotalSteps)
{
    public void Validate()
    {
        if (BaseLr < 0) throw new ArgumentException($"LrSchedule: base lr {BaseLr} < 0");
        if (WarmupSteps < 0 || TotalSteps < 0 || (Kind != ScheduleKind.Constant && TotalSteps <= WarmupSteps && TotalSteps > 0 && WarmupSteps > 0 && TotalSteps < WarmupSteps))
            throw new ArgumentException($"LrSchedule: warmup {WarmupSteps}, total {TotalSteps}");
    }

    /// <summary>The lr for step (0-based: the lr used by the step-th optimizer step).</summary>
    public float At(int step)
    {
        if (step < WarmupSteps) return BaseLr * step / Math.Max(1, WarmupSteps);
        if (Kind == ScheduleKind.Constant) return BaseLr;
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        if (Kind == ScheduleKind.Linear) return (float)(BaseLr * Math.Max(0.0, 1.0 - progress));
        return (float)(BaseLr * Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * Math.Min(1.0, progress)))));
    }
}

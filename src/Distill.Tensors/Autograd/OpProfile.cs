using System.Diagnostics;

namespace Distill.Tensors.Autograd;

/// <summary>
/// Opt-in per-op wall time (DISTILL_PROFILE=1, read once): forward time is the span between one recorded op and the
/// previous one (ops record right after computing, so the span is the op's own work — plus any unrecorded op before
/// it, e.g. a frozen embedding), backward time is measured around each op's Backward. Off, it costs one static
/// readonly branch that the JIT folds away. Single-threaded use (one training loop), as the tape itself.
/// </summary>
public static class OpProfile
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("DISTILL_PROFILE") == "1";

    static readonly Dictionary<string, (double Forward, double Backward, long Calls)> Totals = new(StringComparer.Ordinal);
    static long _mark;

    internal static void Mark() => _mark = Stopwatch.GetTimestamp();

    internal static void Forward(Op op)
    {
        long now = Stopwatch.GetTimestamp();
        Add(op.Name, Stopwatch.GetElapsedTime(_mark, now).TotalMilliseconds, 0, 1);
        _mark = now;
    }

    internal static void Backward(Op op, long start) => Add(op.Name, 0, Stopwatch.GetElapsedTime(start).TotalMilliseconds, 0);

    /// <summary>Time spent outside the tape (e.g. the optimizer step), booked under <paramref name="name"/> as "backward".</summary>
    public static void AddTime(string name, double ms) => Add(name, 0, ms, 1);

    static void Add(string name, double f, double b, long calls)
    {
        Totals.TryGetValue(name, out var t);
        Totals[name] = (t.Forward + f, t.Backward + b, t.Calls + calls);
    }

    public static void Clear() => Totals.Clear();

    /// <summary>(op, forward ms, backward ms, calls) summed since <see cref="Clear"/>, largest total first.</summary>
    public static IReadOnlyList<(string Op, double ForwardMs, double BackwardMs, long Calls)> Snapshot() =>
        Totals.Select(kv => (kv.Key, kv.Value.Forward, kv.Value.Backward, kv.Value.Calls)).OrderByDescending(r => r.Forward + r.Backward).ToList();
}

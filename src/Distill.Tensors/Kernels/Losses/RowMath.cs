using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Distill.Tensors.Kernels.Losses;

/// <summary>
/// Row helpers shared by the loss kernels: a temperature-scaled log-sum-exp and the padded-tail
/// load/store used instead of a scalar tail, so every element goes through the same vector formula
/// (no second scalar copy of each divergence to keep in sync). Tails are NOT handled with the
/// overlapping-last-vector trick: backward kernels accumulate (+=) and forward sums must count each
/// element once, so the tail is loaded into a padded vector and its extra lanes are masked.
/// </summary>
internal static class RowMath
{
    public static int W => Vector256<float>.Count;

    /// <summary>lse = log Σ_j exp(row[j]·invTau), stable: max subtracted first (no overflow; the max term is exp(0) = 1, so no log(0)).</summary>
    public static float LogSumExp(ReadOnlySpan<float> row, float invTau) => LogSumExp(row, invTau, out float m) + m;

    /// <summary>Returns log Σ_j exp(row[j]·invTau − m) with m = max(row)·invTau. Kept apart from m so that
    /// x·invTau − m − (that) loses nothing when |m| is so large that m + log(V) rounds to m (logits ≈ 1e30).</summary>
    public static float LogSumExp(ReadOnlySpan<float> row, float invTau, out float max)
    {
        if (row.Length == 0) throw new ArgumentException("log-sum-exp of an empty row");
        // max(row)·invTau is the max of row·invTau only for invTau > 0, which callers validate (τ > 0).
        float m = max = TensorPrimitives.Max(row) * invTau;
        ref float r0 = ref MemoryMarshal.GetReference(row);
        int n = row.Length, i = 0;
        var vm = Vector256.Create(m); var vt = Vector256.Create(invTau);
        Vector256<float> a0 = default, a1 = default;
        // two independent accumulators hide the latency of the add chain
        for (; i + 2 * W <= n; i += 2 * W)
        {
            a0 += Vector256.Exp(Vector256.LoadUnsafe(ref r0, (nuint)i) * vt - vm);
            a1 += Vector256.Exp(Vector256.LoadUnsafe(ref r0, (nuint)(i + W)) * vt - vm);
        }
        for (; i + W <= n; i += W) a0 += Vector256.Exp(Vector256.LoadUnsafe(ref r0, (nuint)i) * vt - vm);
        float s = Vector256.Sum(a0 + a1);
        for (; i < n; i++) s += MathF.Exp(Unsafe.Add(ref r0, i) * invTau - m);
        return MathF.Log(s);
    }

    /// <summary>Loads row[i .. i+rem) into a vector, the other lanes set to pad.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadTail(ReadOnlySpan<float> row, int i, int rem, float pad)
    {
        Span<float> buf = stackalloc float[8];
        buf.Fill(pad);
        row.Slice(i, rem).CopyTo(buf);
        return Vector256.Create<float>(buf);
    }

    /// <summary>All-ones in lanes &lt; rem, zero elsewhere (to drop padded lanes from a sum).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> TailMask(int rem)
        => Vector256.LessThan(Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7), Vector256.Create((float)rem));

    /// <summary>Adds the first rem lanes of v into dst[i ..].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTail(Vector256<float> v, Span<float> dst, int i, int rem)
    {
        for (int l = 0; l < rem; l++) dst[i + l] += v.GetElement(l);
    }

    /// <summary>log(exp(a) + exp(b)) lane-wise, stable: max + log(1 + exp(−|a−b|)); finite when either is finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LogAddExp(Vector256<float> a, Vector256<float> b)
    {
        var mx = Vector256.Max(a, b);
        return mx + Vector256.Log(Vector256<float>.One + Vector256.Exp(Vector256.Min(a, b) - mx));
    }

    public static void CheckTemperature(float temperature, string who)
    {
        if (!(temperature > 0) || float.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), $"{who}: temperature must be a positive finite number, got {temperature}");
    }

    public static void CheckRows(int length, int vocab, string what, string who)
    {
        if (vocab <= 0) throw new ArgumentOutOfRangeException(nameof(vocab), $"{who}: vocabulary size must be positive, got {vocab}");
        if (length % vocab != 0) throw new ArgumentException($"{who}: {what} has {length} values, not a multiple of the vocabulary size {vocab}");
    }

    /// <summary>Rows per thread chunk so a chunk holds ≥ ~32K elements (smaller work is not worth a thread hand-off).</summary>
    public static int MinRows(int vocab) => Math.Max(1, 32768 / Math.Max(1, vocab));
}

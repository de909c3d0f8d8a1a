using Distill.Tensors.Autograd;

namespace Distill.Tensors.Tests;

public class TensorTests
{
    [Fact]
    public unsafe void OwnedAndArenaStorageIs64ByteAligned()
    {
        using var t = Tensor.Create(3, 5);
        Assert.Equal(0, (long)t.Pointer % 64);
        using var arena = new Arena();
        for (int n = 1; n < 40; n += 7) Assert.Equal(0, (long)arena.Alloc([n, 3]).Pointer % 64);
    }

    [Fact]
    public unsafe void ArenaHandsOutTheSameMemoryAndObjectsAfterReset()
    {
        using var arena = new Arena();
        var a = arena.Alloc([4, 4]);
        var b = arena.Alloc([100]);
        float* pa = a.Pointer, pb = b.Pointer;
        long reserved = arena.ReservedBytes;
        arena.Reset();
        var a2 = arena.Alloc([2, 8]);
        var b2 = arena.Alloc([100]);
        Assert.Same(a, a2);
        Assert.Same(b, b2);
        Assert.True(pa == a2.Pointer && pb == b2.Pointer);
        Assert.Equal(reserved, arena.ReservedBytes);
        Assert.Equal([2, 8], a2.Shape.ToArray());
    }

    [Fact]
    public void ShapesAreValidatedWithClearMessages()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Create(2, -1));
        Assert.Contains("negative", e.Message);
        using var t = Tensor.Create(2, 6);
        t.Reshape(3, 4);
        Assert.Equal(4, t.Cols);
        Assert.Equal(3, t.Rows);
        Assert.Throws<ArgumentException>(() => t.Reshape(5, 5));
    }

    [Fact]
    public void RngGivesTheSameNumbersForTheSameSeed()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        var c = new Rng(43);
        var xa = Enumerable.Range(0, 100).Select(_ => a.NextUInt64()).ToArray();
        Assert.Equal(xa, Enumerable.Range(0, 100).Select(_ => b.NextUInt64()).ToArray());
        Assert.NotEqual(xa, Enumerable.Range(0, 100).Select(_ => c.NextUInt64()).ToArray());
        // xoshiro256** reference: seed state from SplitMix64(0) — first output of the published C code for that state
        var z = new Rng(0);
        Assert.Equal(0x99EC5F36CB75F2B4UL, z.NextUInt64());
    }

    [Fact]
    public void RngMomentsAreRight()
    {
        var r = new Rng(7);
        const int n = 200_000;
        var u = new float[n];
        var g = new float[n];
        r.FillUniform(u, -1, 3);
        r.FillNormal(g, 2, 0.5f);
        Assert.All(u, x => Assert.InRange(x, -1f, 3f));
        // standard errors: uniform mean 1 ± 1.15/√n ≈ 0.0026; normal mean 2 ± 0.5/√n ≈ 0.0011; 5σ bounds
        Assert.InRange(u.Average(), 1 - 0.013, 1 + 0.013);
        double m = g.Average(), v = g.Select(x => (x - m) * (x - m)).Average();
        Assert.InRange(m, 2 - 0.0056, 2 + 0.0056);
        Assert.InRange(Math.Sqrt(v), 0.5 - 0.004, 0.5 + 0.004);
        Assert.InRange(Enumerable.Range(0, 10_000).Select(_ => r.NextInt(7)).Distinct().Count(), 7, 7);
    }

    [Fact]
    public void NoGradModeRecordsNothingAndFrozenParametersGetNoGradient()
    {
        using var w = new Parameter("w", 4, 3) { Trainable = false };
        using var x = new Parameter("x", 2, 3);
        using var tape = new Tape();
        tape.NoGrad = true;
        var y = Distill.Tensors.Autograd.Ops.Linear.Forward(tape, x, w);
        Assert.Equal(0, tape.Count);
        Assert.False(y.RequiresGrad);
        tape.NoGrad = false;
        tape.Reset();
        y = Distill.Tensors.Autograd.Ops.Linear.Forward(tape, x, w);
        Assert.Equal(1, tape.Count);
        tape.Backward(y, new float[y.Length]);
        Assert.Null(w.Grad);
        Assert.NotNull(x.Grad);
    }
}

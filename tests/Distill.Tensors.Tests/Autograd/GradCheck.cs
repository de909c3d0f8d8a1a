using Distill.Tensors.Autograd;

namespace Distill.Tensors.Tests.Autograd;

/// <summary>
/// Central finite differences against the tape's backward. The loss is L = Σ out·R for a fixed random
/// R, evaluated in double from the float32 outputs. Tolerance |num − ana| ≤ 2e-3 + 2e-2·|ana| with
/// step h = 1e-2 on O(1) inputs: float32 rounding of L (≈ 1e-6 over ≤ a few hundred outputs)
/// divided by 2h gives ≈ 5e-5 of noise, and the O(h²) truncation error of the smooth ops here is
/// ≈ 1e-4·|f'''|, so 2e-3 absolute leaves a 10× margin while a wrong sign, factor or missing term
/// (errors ≥ 10% of the gradient) still fails.
/// </summary>
public static class GradCheck
{
    public const double H = 1e-2, Atol = 2e-3, Rtol = 2e-2;

    /// <summary>inputs: tensors with RequiresGrad = true and a persistent Grad. maxCoords: checked coordinates per input (sampled).</summary>
    public static void Check(string what, Func<Tape, Tensor> f, Tensor[] inputs, int seed = 1, int maxCoords = 40)
    {
        using var tape = new Tape();
        var rng = new Rng((ulong)seed);
        var outT = f(tape);
        var r = new float[outT.Length];
        rng.FillNormal(r, 0, 1);
        foreach (var x in inputs) x.Grad!.Span.Clear();
        tape.Backward(outT, r);
        var ana = inputs.Select(x => x.Grad!.Span.ToArray()).ToArray();

        double Loss()
        {
            tape.Reset();
            var o = f(tape);
            double s = 0;
            for (int i = 0; i < o.Length; i++) s += (double)o[i] * r[i];
            return s;
        }

        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            int n = x.Length;
            var coords = n <= maxCoords ? Enumerable.Range(0, n) : Enumerable.Range(0, maxCoords).Select(_ => rng.NextInt(n));
            foreach (int i in coords)
            {
                float orig = x[i];
                x[i] = (float)(orig + H); double lp = Loss();
                x[i] = (float)(orig - H); double lm = Loss();
                x[i] = orig;
                double num = (lp - lm) / (2 * H);
                double a = ana[k][i];
                Assert.True(Math.Abs(num - a) <= Atol + Rtol * Math.Abs(a),
                    $"{what}: input {k} {x} coord {i}: numeric {num:G6} vs analytic {a:G6}");
            }
        }
    }

    public static Tensor Input(Rng rng, params int[] shape)
    {
        var t = Tensor.Create(shape);
        rng.FillNormal(t.Span, 0, 1);
        t.RequiresGrad = true;
        t.Grad = Tensor.Create(shape);
        return t;
    }
}

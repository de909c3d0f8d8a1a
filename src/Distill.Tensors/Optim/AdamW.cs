using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Distill.Tensors.Autograd;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019, Algorithm 2), step for step as torch.optim.AdamW (foreach=False):
///   p ← p·(1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
///   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps).
/// Only trainable parameters get moment buffers (allocated once, here). Frozen ones are skipped.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly Parameter[] _params;
    readonly Tensor[] _m, _v;
    public float Lr { get; set; }
    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Eps { get; }
    public float WeightDecay { get; }
    /// <summary>Optimizer steps taken (t in the bias corrections); settable so a checkpoint can restore it.</summary>
    public int StepCount { get; set; }

    /// <summary>First moments m, one per trainable parameter in <see cref="Parameters"/> order (torch's exp_avg).</summary>
    public IReadOnlyList<Tensor> FirstMoments => _m;

    /// <summary>Second moments v, one per trainable parameter (torch's exp_avg_sq).</summary>
    public IReadOnlyList<Tensor> SecondMoments => _v;

    public AdamW(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
    {
        _params = parameters.Where(p => p.Trainable).ToArray();
        _m = _params.Select(p => Tensor.Create(p.Value.Shape)).ToArray();
        _v = _params.Select(p => Tensor.Create(p.Value.Shape)).ToArray();
        Lr = lr; Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
    }

    public IReadOnlyList<Parameter> Parameters => _params;

    public unsafe void Step()
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount), bc2 = 1 - Math.Pow(Beta2, StepCount);
        float stepSize = (float)(Lr / bc1), bc2Sqrt = (float)Math.Sqrt(bc2), decay = 1f - Lr * WeightDecay;
        for (int k = 0; k < _params.Length; k++)
        {
            var body = new UpdateBody
            {
                P = _params[k].Value.Pointer, G = _params[k].Grad!.Pointer, M = _m[k].Pointer, V = _v[k].Pointer,
                B1 = Beta1, B2 = Beta2, Eps = Eps, StepSize = stepSize, Bc2Sqrt = bc2Sqrt, Decay = decay,
            };
            // elementwise, so any split gives the same numbers; 64K elements per chunk amortise the dispatch
            Workers.For(_params[k].Length, body, 1 << 16);
        }
    }

    unsafe struct UpdateBody : IRangeBody
    {
        public float* P, G, M, V;
        public float B1, B2, Eps, StepSize, Bc2Sqrt, Decay;

        public void Run(int begin, int end)
        {
            int i = begin;
            if (Vector256.IsHardwareAccelerated)
            {
                var b1 = Vector256.Create(B1); var c1 = Vector256.Create(1 - B1);
                var b2 = Vector256.Create(B2); var c2 = Vector256.Create(1 - B2);
                var eps = Vector256.Create(Eps); var ss = Vector256.Create(StepSize);
                var bc = Vector256.Create(Bc2Sqrt); var dec = Vector256.Create(Decay);
                for (; i <= end - 8; i += 8)
                {
                    var g = Vector256.Load(G + i);
                    var m = b1 * Vector256.Load(M + i) + c1 * g;
                    var v = b2 * Vector256.Load(V + i) + c2 * g * g;
                    m.Store(M + i);
                    v.Store(V + i);
                    var p = Vector256.Load(P + i) * dec - ss * m / (Vector256.Sqrt(v) / bc + eps);
                    p.Store(P + i);
                }
            }
            for (; i < end; i++) // scalar tail, same formula (the reference the vector loop must equal)
            {
                float g = G[i];
                float m = M[i] = B1 * M[i] + (1 - B1) * g;
                float v = V[i] = B2 * V[i] + (1 - B2) * g * g;
                P[i] = P[i] * Decay - StepSize * m / (MathF.Sqrt(v) / Bc2Sqrt + Eps);
            }
        }
    }

    public void ZeroGrad() { foreach (var p in _params) p.ZeroGrad(); }

    public void Dispose() { foreach (var t in _m.Concat(_v)) t.Dispose(); }
}

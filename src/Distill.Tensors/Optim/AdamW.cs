using Distill.Tensors.Autograd;

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
    public int StepCount { get; private set; }

    public AdamW(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
    {
        _params = parameters.Where(p => p.Trainable).ToArray();
        _m = _params.Select(p => Tensor.Create(p.Value.Shape)).ToArray();
        _v = _params.Select(p => Tensor.Create(p.Value.Shape)).ToArray();
        Lr = lr; Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
    }

    public IReadOnlyList<Parameter> Parameters => _params;

    public void Step()
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount), bc2 = 1 - Math.Pow(Beta2, StepCount);
        float stepSize = (float)(Lr / bc1), bc2Sqrt = (float)Math.Sqrt(bc2), decay = 1f - Lr * WeightDecay;
        float b1 = Beta1, b2 = Beta2, eps = Eps;
        for (int k = 0; k < _params.Length; k++)
        {
            var p = _params[k].Value.Span;
            var g = _params[k].Grad!.Span;
            var m = _m[k].Span;
            var v = _v[k].Span;
            for (int i = 0; i < p.Length; i++)
            {
                float gi = g[i];
                float mi = m[i] = b1 * m[i] + (1 - b1) * gi;
                float vi = v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                p[i] = p[i] * decay - stepSize * mi / (MathF.Sqrt(vi) / bc2Sqrt + eps);
            }
        }
    }

    public void ZeroGrad() { foreach (var p in _params) p.ZeroGrad(); }

    public void Dispose() { foreach (var t in _m.Concat(_v)) t.Dispose(); }
}

using Distill.Tensors.Autograd;

namespace Distill.Tensors.Optim;

/// <summary>
/// SGD as torch.optim.SGD (dampening 0, nesterov off): g ← g + wd·p; with momentum μ,
/// buf ← g on the first step, then buf ← μ buf + g; p ← p − lr·buf.
/// </summary>
public sealed class Sgd : IDisposable
{
    readonly Parameter[] _params;
    readonly Tensor[]? _buf;
    public float Lr { get; set; }
    public float Momentum { get; }
    public float WeightDecay { get; }
    int _steps;

    public Sgd(IEnumerable<Parameter> parameters, float lr, float momentum = 0f, float weightDecay = 0f)
    {
        _params = parameters.Where(p => p.Trainable).ToArray();
        Lr = lr; Momentum = momentum; WeightDecay = weightDecay;
        if (momentum != 0) _buf = _params.Select(p => Tensor.Create(p.Value.Shape)).ToArray();
    }

    public void Step()
    {
        for (int k = 0; k < _params.Length; k++)
        {
            var p = _params[k].Value.Span;
            var g = _params[k].Grad!.Span;
            var b = _buf is null ? default : _buf[k].Span;
            for (int i = 0; i < p.Length; i++)
            {
                float d = g[i] + WeightDecay * p[i];
                if (_buf is not null) d = b[i] = _steps == 0 ? d : Momentum * b[i] + d;
                p[i] -= Lr * d;
            }
        }
        _steps++;
    }

    public void ZeroGrad() { foreach (var p in _params) p.ZeroGrad(); }

    public void Dispose() { if (_buf is not null) foreach (var t in _buf) t.Dispose(); }
}

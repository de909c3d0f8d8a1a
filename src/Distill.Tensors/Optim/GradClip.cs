using Distill.Tensors.Autograd;

namespace Distill.Tensors.Optim;

/// <summary>Clipping by global norm, as torch.nn.utils.clip_grad_norm_ (norm in double; coef = max/(norm + 1e-6), applied only if &lt; 1).</summary>
public static class GradClip
{
    /// <summary>Returns the global L2 norm of the gradients before clipping.</summary>
    public static float ClipGlobalNorm(IEnumerable<Parameter> parameters, float maxNorm)
    {
        double ss = 0;
        foreach (var p in parameters)
        {
            if (p.Grad is null) continue;
            foreach (var g in p.Grad.Span) ss += (double)g * g;
        }
        double norm = Math.Sqrt(ss);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
            foreach (var p in parameters)
            {
                if (p.Grad is null) continue;
                var g = p.Grad.Span;
                for (int i = 0; i < g.Length; i++) g[i] = (float)(g[i] * coef);
            }
        return (float)norm;
    }
}

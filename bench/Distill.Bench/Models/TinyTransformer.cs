using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using AddOp = Distill.Tensors.Autograd.Ops.Add;

namespace Distill.Bench.Models;

/// <summary>
/// The GPT-2-style and Llama-style models of torch_baseline.py on the Distill engine, with the same
/// parameter names (its state_dict keys), so the golden test can load the PyTorch weights and compare
/// every gradient. Shapes: ids (B·T) → logits (B·T, V). Not the Models assembly's loaders: a bench model.
/// </summary>
public sealed class TinyTransformer : IDisposable
{
    public TransformerConfig Config { get; }
    public List<Parameter> Parameters { get; } = [];
    readonly Dictionary<string, Parameter> _byName = [];
    readonly RopeTable? _rope;
    int[] _posIds = [];   // (B·T) positions for gpt2's wpe
    int[] _ropePos = [];  // (T) positions for RoPE

    public TinyTransformer(TransformerConfig cfg, Rng rng)
    {
        cfg.Validate();
        Config = cfg;
        int C = cfg.Channels, V = cfg.Vocab, r = cfg.LoraRank;
        Weight("wte.weight", V, C);
        if (cfg.Arch == "gpt2") Weight("wpe.weight", cfg.MaxPositions, C);
        for (int l = 0; l < cfg.Layers; l++)
        {
            string b = $"blocks.{l}.";
            if (cfg.Arch == "gpt2")
            {
                Ones(b + "ln1.weight", C); Zeros(b + "ln1.bias", C);
                Weight(b + "qkv.base.weight", 3 * C, C); Zeros(b + "qkv.base.bias", 3 * C);
                Weight(b + "o.base.weight", C, C); Zeros(b + "o.base.bias", C);
                Ones(b + "ln2.weight", C); Zeros(b + "ln2.bias", C);
                Weight(b + "fc.weight", 4 * C, C); Zeros(b + "fc.bias", 4 * C);
                Weight(b + "proj.weight", C, 4 * C); Zeros(b + "proj.bias", C);
            }
            else
            {
                Ones(b + "ln1.weight", C);
                foreach (var p in new[] { "q", "k", "v", "o" })
                {
                    Weight(b + p + ".base.weight", C, C);
                    if (r > 0)
                    {
                        // peft/torch_baseline: A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in); B = 0 (so the adapter starts as identity)
                        var a = Add(b + p + ".lora.A", r, C);
                        float bound = 1f / MathF.Sqrt(C);
                        rng.FillUniform(a.Span, -bound, bound);
                        Add(b + p + ".lora.B", C, r);
                    }
                }
                Ones(b + "ln2.weight", C);
                Weight(b + "gate.weight", cfg.Hidden, C);
                Weight(b + "up.weight", cfg.Hidden, C);
                Weight(b + "down.weight", C, cfg.Hidden);
            }
        }
        if (cfg.Arch == "gpt2") { Ones("lnf.weight", C); Zeros("lnf.bias", C); }
        else
        {
            Ones("lnf.weight", C);
            Weight("head.weight", V, C);
            _rope = new RopeTable(cfg.HeadDim, cfg.MaxPositions);
        }
        _layer = new Dictionary<string, Tensor>[cfg.Layers];
        for (int l = 0; l < cfg.Layers; l++)
        {
            string prefix = $"blocks.{l}.";
            _layer[l] = Parameters.Where(p => p.Name.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(p => p.Name[prefix.Length..], p => p.Value);
        }
        if (r > 0)
            foreach (var p in Parameters) p.Trainable = p.Name.Contains(".lora.", StringComparison.Ordinal);

        Parameter Weight(string name, int o, int i) { var p = Add(name, o, i); rng.FillNormal(p.Span, 0f, 0.02f); return p; }
        void Ones(string name, int n) => Add(name, n).Span.Fill(1f);
        void Zeros(string name, int n) => Add(name, n);
        Parameter Add(string name, params int[] shape) { var p = new Parameter(name, shape); Parameters.Add(p); _byName[name] = p; return p; }
    }

    public Parameter this[string name] => _byName.TryGetValue(name, out var p) ? p : throw new KeyNotFoundException($"no parameter '{name}'");
    Tensor W(string name) => _byName[name].Value;

    // Per-layer lookups by literal suffix ("ln1.weight"): no string is built during a step.
    Dictionary<string, Tensor>[] _layer = [];
    Tensor L(int layer, string suffix) => _layer[layer][suffix];

    /// <summary>Logits (B·T, V) for ids (B·T) of batch sequences of length T each.</summary>
    public Tensor Forward(Tape tape, int[] ids, int batch, int T)
    {
        var cfg = Config;
        if (ids.Length < batch * T) throw new ArgumentException($"Forward: {ids.Length} ids for batch {batch} × T {T}");
        EnsurePositions(batch, T);
        Tensor x = Embedding.Forward(tape, ids, W("wte.weight"), batch * T);
        if (cfg.Arch == "gpt2") x = AddOp.Forward(tape, x, Embedding.Forward(tape, _posIds, W("wpe.weight"), batch * T));
        for (int l = 0; l < cfg.Layers; l++)
            x = cfg.Arch == "gpt2" ? Gpt2Block(tape, x, l, batch) : LlamaBlock(tape, x, l, batch);
        if (cfg.Arch == "gpt2")
            return Linear.Forward(tape, LayerNorm.Forward(tape, x, W("lnf.weight"), W("lnf.bias")), W("wte.weight"));
        return Linear.Forward(tape, RmsNorm.Forward(tape, x, W("lnf.weight")), W("head.weight"));
    }

    Tensor Gpt2Block(Tape tape, Tensor x, int l, int batch)
    {
        int H = Config.Heads;
        var h = LayerNorm.Forward(tape, x, L(l, "ln1.weight"), L(l, "ln1.bias"));
        var qkv = Linear.Forward(tape, h, L(l, "qkv.base.weight"), L(l, "qkv.base.bias"));
        var a = CausalAttention.Forward(tape, qkv, batch, H, H);
        x = AddOp.Forward(tape, x, Linear.Forward(tape, a, L(l, "o.base.weight"), L(l, "o.base.bias")));
        var h2 = LayerNorm.Forward(tape, x, L(l, "ln2.weight"), L(l, "ln2.bias"));
        var f = Gelu.Forward(tape, Linear.Forward(tape, h2, L(l, "fc.weight"), L(l, "fc.bias")), tanhApprox: true);
        return AddOp.Forward(tape, x, Linear.Forward(tape, f, L(l, "proj.weight"), L(l, "proj.bias")));
    }

    Tensor LlamaBlock(Tape tape, Tensor x, int l, int batch)
    {
        int H = Config.Heads;
        var h = RmsNorm.Forward(tape, x, L(l, "ln1.weight"));
        var q = Rope.Forward(tape, Proj(tape, h, l, "q.base.weight", "q.lora.A", "q.lora.B"), H, _rope!, _ropePos);
        var k = Rope.Forward(tape, Proj(tape, h, l, "k.base.weight", "k.lora.A", "k.lora.B"), H, _rope!, _ropePos);
        var v = Proj(tape, h, l, "v.base.weight", "v.lora.A", "v.lora.B");
        var a = CausalAttention.Forward(tape, q, k, v, batch, H, H);
        x = AddOp.Forward(tape, x, Proj(tape, a, l, "o.base.weight", "o.lora.A", "o.lora.B"));
        var h2 = RmsNorm.Forward(tape, x, L(l, "ln2.weight"));
        var g = SwiGlu.Forward(tape, Linear.Forward(tape, h2, L(l, "gate.weight")), Linear.Forward(tape, h2, L(l, "up.weight")));
        return AddOp.Forward(tape, x, Linear.Forward(tape, g, L(l, "down.weight")));
    }

    /// <summary>base(x) + B(A(x)) · alpha/r with alpha = r, so the scale is 1 (peft LoRA, torch_baseline.py).</summary>
    Tensor Proj(Tape tape, Tensor x, int l, string baseW, string loraA, string loraB)
        => Config.LoraRank == 0 ? Linear.Forward(tape, x, L(l, baseW))
            : LoraLinear.Forward(tape, x, L(l, baseW), null, L(l, loraA), L(l, loraB), 1f); // the branch fused into the base GEMM's output

    void EnsurePositions(int batch, int T)
    {
        if (_posIds.Length != batch * T || _ropePos.Length != T)
        {
            _posIds = new int[batch * T];
            for (int i = 0; i < _posIds.Length; i++) _posIds[i] = i % T;
            _ropePos = Enumerable.Range(0, T).ToArray();
        }
    }

    public void ZeroGrad() { foreach (var p in Parameters) p.ZeroGrad(); }

    public void Dispose()
    {
        foreach (var p in Parameters) p.Dispose();
        _rope?.Dispose();
    }
}

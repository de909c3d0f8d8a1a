using Distill.Models.Layers;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Models.Phi3;

/// <summary>
/// Phi3ForCausalLM as transformers' modeling_phi3.py computes it: Llama's block with fused projections.
///   qkv = qkv_proj(x): (batch·T, (heads + 2·kv_heads)·hd), split as q = [0, heads·hd), k = next kv_heads·hd, v = the rest;
///   gate, up = gate_up_proj(x).chunk(2): gate the first intermediate_size columns, up the second; mlp = down_proj(silu(gate) ⊙ up);
///   h += o_proj(attn(rope(q), rope(k), v)) on rmsnorm(h); h += mlp(rmsnorm(h)); logits = lm_head(rmsnorm(h)).
/// RoPE rotates the first head_dim · partial_rotary_factor dimensions of each head; sliding_window masks keys
/// j ≤ p − window on every layer. No biases. LoRA on qkv_proj / gate_up_proj adapts the fused output (PEFT wraps
/// the nn.Linear as it is), so its B has (heads + 2·kv_heads)·hd or 2·intermediate_size rows.
/// </summary>
public sealed class Phi3ForCausalLM : CausalLM
{
    sealed record Layer(Parameter InputNorm, LinearLayer Qkv, LinearLayer O, Parameter PostNorm, LinearLayer GateUp, LinearLayer Down);

    readonly Parameter _embed, _norm;
    readonly Parameter? _lmHead;
    readonly Layer[] _layers;

    public Phi3ForCausalLM(ModelConfig c) : base(c)
    {
        int h = c.HiddenSize, q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        _embed = AddWeight(Phi3Weights.EmbedTokens, [c.VocabSize, h]);
        _layers = new Layer[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
            _layers[l] = new Layer(
                AddWeight(Phi3Weights.InputLayerNorm(l), [h]),
                AddLinear(Phi3Weights.QkvProj(l), h, q + 2 * kv, false),
                AddLinear(Phi3Weights.OProj(l), q, h, false),
                AddWeight(Phi3Weights.PostAttentionLayerNorm(l), [h]),
                AddLinear(Phi3Weights.GateUpProj(l), h, 2 * i, false),
                AddLinear(Phi3Weights.DownProj(l), i, h, false));
        _norm = AddWeight(Phi3Weights.Norm, [h]);
        if (!c.TieWordEmbeddings) _lmHead = AddWeight(Phi3Weights.LmHead, [c.VocabSize, h]);
    }

    // A tied checkpoint may still carry lm_head.weight (a copy of the embedding); transformers ties over it.
    public override IEnumerable<string> OptionalNames => Config.TieWordEmbeddings ? [Phi3Weights.LmHead] : [];
    public override (string Head, string Embedding)? TiedHead => Config.TieWordEmbeddings ? (Phi3Weights.LmHead, Phi3Weights.EmbedTokens) : null;

    protected override Tensor Run(Tape tape, int[] ids, int batch, KvCache[]? caches, int pos, Tensor? keyMask, DecodeRows? rows, bool lastOnly)
    {
        var c = Config;
        int len = ids.Length / batch, qw = c.NumHeads * c.HeadDim, kvw = c.NumKvHeads * c.HeadDim, inter = c.IntermediateSize;
        float eps = (float)c.NormEps;
        var rope = RopeOf(pos, len, rows);
        var positions = PositionsOf(pos, len, rows);
        var h = Embedding.Forward(tape, ids, _embed.Value);
        var residual = new InferenceResidual(tape, h);
        for (int l = 0; l < _layers.Length; l++)
        {
            var L = _layers[l];
            var x = RmsNorm.Forward(tape, h, L.InputNorm.Value, eps);
            var qkv = L.Qkv.Forward(tape, x);                                   // (batch·len, qw + 2·kvw)
            var a = RotaryAttention(tape, SliceColumns.Forward(tape, qkv, 0, qw), SliceColumns.Forward(tape, qkv, qw, kvw),
                SliceColumns.Forward(tape, qkv, qw + kvw, kvw), l, batch, caches?[l], pos, keyMask, rope, positions, rows);
            h = Add.Forward(tape, h, L.O.Forward(tape, a));
            x = RmsNorm.Forward(tape, h, L.PostNorm.Value, eps);
            var gateUp = L.GateUp.Forward(tape, x);                             // (batch·len, 2·inter)
            var m = SwiGlu.Forward(tape, SliceColumns.Forward(tape, gateUp, 0, inter), SliceColumns.Forward(tape, gateUp, inter, inter));
            h = Add.Forward(tape, h, L.Down.Forward(tape, m));
            h = residual.End(h);
        }
        h = RmsNorm.Forward(tape, h, _norm.Value, eps);
        h = LastRows(tape, h, batch, lastOnly);
        return HeadLinear(tape, h, _lmHead ?? _embed);
    }
}

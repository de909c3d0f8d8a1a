using Distill.Models.Layers;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Models.Gemma3;

/// <summary>
/// Gemma3ForCausalLM (model_type gemma3_text) as transformers' modeling_gemma3.py computes it. Every RMSNorm is
/// Gemma3RMSNorm, x · rstd · (1 + w) (<see cref="GroupRmsNorm"/> with offset 1):
///   h = embed(ids) · √hidden (Gemma3TextScaledWordEmbedding; the scale a float32 scalar, the model dtype here);
///   per layer: x = input_layernorm(h); q = q_norm(q_proj(x)) and k = k_norm(k_proj(x)) per head, then RoPE;
///              h += post_attention_layernorm(o_proj(attn(q, k, v)));
///              h += post_feedforward_layernorm(down_proj(gelu_tanh(gate_proj(x')) ⊙ up_proj(x'))), x' = pre_feedforward_layernorm(h);
///   logits = lm_head(norm(h)) (tied to embed_tokens by default), then c · tanh(logits / c) when final_logit_softcapping = c.
/// Sliding layers (layer_types "sliding_attention") see keys p − sliding_window &lt; j ≤ p and rotate with
/// rope_local_base_freq (plain RoPE); full layers attend causally and rotate with rope_theta and its scaling.
/// Attention scores are scaled by query_pre_attn_scalar^−½ (the engine's attention divides by √head_dim, so q is
/// multiplied by √(head_dim / query_pre_attn_scalar) first; RoPE is linear, so the order does not matter).
/// </summary>
public sealed class Gemma3ForCausalLM : CausalLM
{
    sealed record Layer(Parameter InputNorm, LinearLayer Q, LinearLayer K, LinearLayer V, LinearLayer O, Parameter QNorm, Parameter KNorm,
        Parameter PostAttentionNorm, Parameter PreFeedforwardNorm, Parameter PostFeedforwardNorm, LinearLayer Gate, LinearLayer Up, LinearLayer Down);

    readonly Parameter _embed, _norm;
    readonly Parameter? _lmHead;
    readonly Layer[] _layers;
    RopeTable? _localRope;

    public Gemma3ForCausalLM(ModelConfig c) : base(c)
    {
        if (c.RopeLocalTheta is null || c.QueryPreAttnScalar is null)
            throw new ArgumentException($"{c.Architecture}: Gemma 3 needs rope_local_base_freq and query_pre_attn_scalar", nameof(c));
        int h = c.HiddenSize, q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        _embed = AddWeight(Gemma3Weights.EmbedTokens, [c.VocabSize, h]);
        _layers = new Layer[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
            _layers[l] = new Layer(
                AddWeight(Gemma3Weights.InputLayerNorm(l), [h]),
                AddLinear(Gemma3Weights.QProj(l), h, q, c.QkvBias),
                AddLinear(Gemma3Weights.KProj(l), h, kv, c.QkvBias),
                AddLinear(Gemma3Weights.VProj(l), h, kv, c.QkvBias),
                AddLinear(Gemma3Weights.OProj(l), q, h, c.OProjBias),
                AddWeight(Gemma3Weights.QNorm(l), [c.HeadDim]),
                AddWeight(Gemma3Weights.KNorm(l), [c.HeadDim]),
                AddWeight(Gemma3Weights.PostAttentionLayerNorm(l), [h]),
                AddWeight(Gemma3Weights.PreFeedforwardLayerNorm(l), [h]),
                AddWeight(Gemma3Weights.PostFeedforwardLayerNorm(l), [h]),
                AddLinear(Gemma3Weights.GateProj(l), h, i, false),
                AddLinear(Gemma3Weights.UpProj(l), h, i, false),
                AddLinear(Gemma3Weights.DownProj(l), i, h, false));
        _norm = AddWeight(Gemma3Weights.Norm, [h]);
        if (!c.TieWordEmbeddings) _lmHead = AddWeight(Gemma3Weights.LmHead, [c.VocabSize, h]);
    }

    // A tied checkpoint may still carry lm_head.weight (a copy of the embedding); transformers ties over it.
    public override IEnumerable<string> OptionalNames => Config.TieWordEmbeddings ? [Gemma3Weights.LmHead] : [];
    public override (string Head, string Embedding)? TiedHead => Config.TieWordEmbeddings ? (Gemma3Weights.LmHead, Gemma3Weights.EmbedTokens) : null;

    /// <summary>The sliding layers' rotary table: rope_local_base_freq, no scaling (Gemma3RotaryEmbedding's "sliding_attention" entry).</summary>
    RopeTable LocalRope(int positions)
    {
        if (_localRope is null || _localRope.MaxPositions < positions)
        {
            _localRope?.Dispose();
            var local = Config with { RopeTheta = Config.RopeLocalTheta!.Value, RopeScaling = null };
            _localRope = RopeFrequencies.CreateTable(local, Math.Max(positions, Math.Min(Config.MaxPositionEmbeddings, 4096)));
        }
        return _localRope;
    }

    protected override Tensor Run(Tape tape, int[] ids, int batch, KvCache[]? caches, int pos, Tensor? keyMask, DecodeRows? rows, bool lastOnly)
    {
        var c = Config;
        int len = ids.Length / batch;
        float eps = (float)c.NormEps;
        var globalRope = RopeOf(pos, len, rows);
        int end = EndOf(pos, len, rows);
        var localRope = LocalRope(end);
        var positions = PositionsOf(pos, len, rows);
        // scores · query_pre_attn_scalar^−½ = (q · √(hd / qpas)) · k / √hd
        float qScale = (float)Math.Sqrt(c.HeadDim / c.QueryPreAttnScalar!.Value);
        var h = Scale.Forward(tape, Embedding.Forward(tape, ids, _embed.Value), (float)Math.Sqrt(c.HiddenSize));
        var residual = new InferenceResidual(tape, h);
        for (int l = 0; l < _layers.Length; l++)
        {
            var L = _layers[l];
            var x = GroupRmsNorm.Forward(tape, h, L.InputNorm.Value, eps, 1);
            var q = GroupRmsNorm.Forward(tape, L.Q.Forward(tape, x), L.QNorm.Value, eps, 1);
            if (qScale != 1) q = Scale.Forward(tape, q, qScale);
            var k = GroupRmsNorm.Forward(tape, L.K.Forward(tape, x), L.KNorm.Value, eps, 1);
            var rope = WindowOf(l) > 0 ? localRope : globalRope;
            var a = RotaryAttention(tape, q, k, L.V.Forward(tape, x), l, batch, caches?[l], pos, keyMask, rope, positions, rows);
            h = Add.Forward(tape, h, GroupRmsNorm.Forward(tape, L.O.Forward(tape, a), L.PostAttentionNorm.Value, eps, 1));
            x = GroupRmsNorm.Forward(tape, h, L.PreFeedforwardNorm.Value, eps, 1);
            var gate = Gelu.Forward(tape, L.Gate.Forward(tape, x), tanhApprox: c.HiddenAct != "gelu");
            var m = L.Down.Forward(tape, Mul.Forward(tape, gate, L.Up.Forward(tape, x)));
            h = Add.Forward(tape, h, GroupRmsNorm.Forward(tape, m, L.PostFeedforwardNorm.Value, eps, 1));
            h = residual.End(h);
        }
        h = GroupRmsNorm.Forward(tape, h, _norm.Value, eps, 1);
        h = LastRows(tape, h, batch, lastOnly);
        var logits = HeadLinear(tape, h, _lmHead ?? _embed);
        return c.FinalLogitSoftcapping is double cap ? Softcap.Forward(tape, logits, (float)cap) : logits;
    }

    public override void Dispose()
    {
        _localRope?.Dispose();
        base.Dispose();
    }
}

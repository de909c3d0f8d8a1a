using Distill.Models.Layers;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Models.Llama;

/// <summary>
/// LlamaForCausalLM, and with config switches Qwen2ForCausalLM (q/k/v biases), MistralForCausalLM (sliding window) and
/// Qwen3ForCausalLM (q_norm / k_norm: an RMSNorm over each head's queries and keys before RoPE, modeling_qwen3.py
/// Qwen3Attention: <c>q_norm(q_proj(x).view(…, heads, head_dim))</c>), as transformers' modeling_llama.py computes it:
///   h = embed(ids);  per layer: h += o_proj(attn(rope(q), rope(k), v)) on rmsnorm(h);
///                               h += down_proj(silu(gate_proj(x)) ⊙ up_proj(x)) on rmsnorm(h);
///   logits = lm_head(rmsnorm(h)), lm_head tied to embed_tokens when tie_word_embeddings.
/// Grouped-query attention: query head h reads key/value head h / (heads / kv_heads) (repeat_kv).
/// </summary>
public class LlamaForCausalLM : CausalLM
{
    sealed record Layer(Parameter InputNorm, LinearLayer Q, LinearLayer K, LinearLayer V, LinearLayer O,
        Parameter PostNorm, LinearLayer Gate, LinearLayer Up, LinearLayer Down)
    {
        public Parameter? QNorm { get; init; }
        public Parameter? KNorm { get; init; }
    }

    readonly Parameter _embed, _norm;
    readonly Parameter? _lmHead;
    readonly Layer[] _layers;

    public LlamaForCausalLM(ModelConfig c) : this(c, lmHead: true) { }

    /// <summary>The decoder, with the language-model head or (<paramref name="lmHead"/> false) none, for a subclass's head.</summary>
    protected LlamaForCausalLM(ModelConfig c, bool lmHead) : base(c)
    {
        int h = c.HiddenSize, q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        _embed = AddWeight(LlamaWeights.EmbedTokens, [c.VocabSize, h]);
        _layers = new Layer[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
            _layers[l] = new Layer(
                AddWeight(LlamaWeights.InputLayerNorm(l), [h]),
                AddLinear(LlamaWeights.QProj(l), h, q, c.QkvBias),
                AddLinear(LlamaWeights.KProj(l), h, kv, c.QkvBias),
                AddLinear(LlamaWeights.VProj(l), h, kv, c.QkvBias),
                AddLinear(LlamaWeights.OProj(l), q, h, c.OProjBias),
                AddWeight(LlamaWeights.PostAttentionLayerNorm(l), [h]),
                AddLinear(LlamaWeights.GateProj(l), h, i, c.MlpBias),
                AddLinear(LlamaWeights.UpProj(l), h, i, c.MlpBias),
                AddLinear(LlamaWeights.DownProj(l), i, h, c.MlpBias))
            {
                // registered after the layer's other tensors; checkpoint order does not matter (tensors are read by name)
                QNorm = c.QkNorm ? AddWeight(LlamaWeights.QNorm(l), [c.HeadDim]) : null,
                KNorm = c.QkNorm ? AddWeight(LlamaWeights.KNorm(l), [c.HeadDim]) : null,
            };
        _norm = AddWeight(LlamaWeights.Norm, [h]);
        HasLmHead = lmHead;
        if (lmHead && !c.TieWordEmbeddings) _lmHead = AddWeight(LlamaWeights.LmHead, [c.VocabSize, h]);
    }

    bool HasLmHead { get; }

    // A tied checkpoint may still carry lm_head.weight (a copy of the embedding); transformers ties over it.
    public override IEnumerable<string> OptionalNames => HasLmHead && Config.TieWordEmbeddings ? [LlamaWeights.LmHead] : [];
    public override (string Head, string Embedding)? TiedHead => HasLmHead && Config.TieWordEmbeddings ? (LlamaWeights.LmHead, LlamaWeights.EmbedTokens) : null;

    protected override Tensor Run(Tape tape, int[] ids, int batch, KvCache[]? caches, int pos, Tensor? keyMask, DecodeRows? rows, bool lastOnly)
    {
        var c = Config;
        int len = ids.Length / batch;
        float eps = (float)c.NormEps;
        var rope = RopeOf(pos, len, rows);
        var positions = PositionsOf(pos, len, rows);
        var h = Embedding.Forward(tape, ids, _embed.Value);
        var residual = new InferenceResidual(tape, h);
        // the rows asked of the head by a training or scoring forward; the last layer takes only them past its attention
        // (below). A prefill's last rows are left to LastRows: one row would turn its products into matrix-vector ones,
        // whose sums round differently from the full forward's.
        int[]? headRows = OutputRows;
        bool gathered = false;
        for (int l = 0; l < _layers.Length; l++)
        {
            var L = _layers[l];
            var x = RmsNorm.Forward(tape, h, L.InputNorm.Value, eps);
            // q, k, v (and below gate, up) as one product with packed inference weights (LinearLayer.ForwardMany)
            var qkv = LinearLayer.ForwardMany(tape, x, L.Q, L.K, L.V);
            var a = L.QNorm is null
                ? RotaryAttention(tape, qkv[0], qkv[1], qkv[2], l, batch, caches?[l], pos, keyMask, rope, positions, rows)
                : RotaryAttention(tape, GroupRmsNorm.Forward(tape, qkv[0], L.QNorm.Value, eps),
                    GroupRmsNorm.Forward(tape, qkv[1], L.KNorm!.Value, eps), qkv[2],
                    l, batch, caches?[l], pos, keyMask, rope, positions, rows);
            if (l == _layers.Length - 1 && headRows is not null)
            {
                // After the last attention a row's hidden state reaches nothing but its own logits: o_proj, the MLP and the
                // final norm run on the head's rows only (DPO's shared pair: its 256 answer rows of 512). Every op from here
                // is row by row, so those rows' values are the full forward's, bit for bit (LossRowsTests).
                a = GatherRows.Forward(tape, a, headRows);
                h = GatherRows.Forward(tape, h, headRows);
                gathered = true;
            }
            h = Add.Forward(tape, h, L.O.Forward(tape, a));
            x = RmsNorm.Forward(tape, h, L.PostNorm.Value, eps);
            var gateUp = LinearLayer.ForwardMany(tape, x, L.Gate, L.Up);
            var m = SwiGlu.Forward(tape, gateUp[0], gateUp[1]);
            h = Add.Forward(tape, h, L.Down.Forward(tape, m));
            if (!gathered) h = residual.End(h);   // gathered: the last layer, fewer rows than the residual's buffers
        }
        h = RmsNorm.Forward(tape, h, _norm.Value, eps);
        if (!gathered) h = LastRows(tape, h, batch, lastOnly);
        return Head(tape, h);
    }

    /// <summary>The output head on the final normed hidden states (batch·T, hidden): lm_head (or the tied embedding).</summary>
    protected virtual Tensor Head(Tape tape, Tensor h) => HeadLinear(tape, h, _lmHead ?? _embed);
}

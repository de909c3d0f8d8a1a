using Distill.Models.Layers;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Models.Gpt2;

/// <summary>
/// GPT2LMHeadModel as transformers' modeling_gpt2.py computes it (pre-LayerNorm blocks, learned positions):
///   h = wte(ids) + wpe(pos);  per block: h += c_proj(attn(c_attn(ln_1(h)))); h += mlp.c_proj(gelu_new(c_fc(ln_2(h))));
///   logits = ln_f(h) · wteᵀ (lm_head tied to wte).
/// c_attn is one fused projection to [q | k | v]; the attention reads the three column blocks in place.
/// </summary>
public sealed class Gpt2LMHeadModel : CausalLM
{
    sealed record Block(Parameter Ln1W, Parameter Ln1B, LinearLayer CAttn, LinearLayer AttnProj, Parameter Ln2W, Parameter Ln2B, LinearLayer CFc, LinearLayer MlpProj);

    readonly Parameter _wte, _wpe, _lnFW, _lnFB;
    readonly Parameter? _lmHead;
    readonly Block[] _blocks;

    public Gpt2LMHeadModel(ModelConfig c) : base(c)
    {
        int e = c.HiddenSize, inner = c.IntermediateSize;
        _wte = AddWeight(Gpt2Weights.Wte, [c.VocabSize, e]);
        _wpe = AddWeight(Gpt2Weights.Wpe, [c.MaxPositionEmbeddings, e]);
        _blocks = new Block[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
            _blocks[l] = new Block(
                AddWeight(Gpt2Weights.Ln1(l) + ".weight", [e]), AddWeight(Gpt2Weights.Ln1(l) + ".bias", [e]),
                AddLinear(Gpt2Weights.CAttn(l), e, 3 * e, bias: true, conv1d: true),
                AddLinear(Gpt2Weights.AttnCProj(l), e, e, bias: true, conv1d: true),
                AddWeight(Gpt2Weights.Ln2(l) + ".weight", [e]), AddWeight(Gpt2Weights.Ln2(l) + ".bias", [e]),
                AddLinear(Gpt2Weights.CFc(l), e, inner, bias: true, conv1d: true),
                AddLinear(Gpt2Weights.MlpCProj(l), inner, e, bias: true, conv1d: true));
        _lnFW = AddWeight(Gpt2Weights.LnF + ".weight", [e]);
        _lnFB = AddWeight(Gpt2Weights.LnF + ".bias", [e]);
        if (!c.TieWordEmbeddings) _lmHead = AddWeight(Gpt2Weights.LmHead, [c.VocabSize, e]);
    }

    public override IEnumerable<string> OptionalNames => Config.TieWordEmbeddings ? [Gpt2Weights.LmHead] : [];
    public override (string Head, string Embedding)? TiedHead => Config.TieWordEmbeddings ? (Gpt2Weights.LmHead, Gpt2Weights.Wte) : null;
    public override bool IgnoredName(string name) => Gpt2Weights.IsMaskBuffer(name);

    protected override Tensor Run(Tape tape, int[] ids, int batch, KvCache[]? caches, int pos, Tensor? keyMask, DecodeRows? rows, bool lastOnly)
    {
        var c = Config;
        int len = ids.Length / batch, e = c.HiddenSize;
        int end = EndOf(pos, len, rows);
        if (end > c.MaxPositionEmbeddings)
            throw new ArgumentException($"GPT-2 has {c.MaxPositionEmbeddings} learned positions (n_positions); {end} asked for");
        float eps = (float)c.NormEps;
        bool tanh = c.HiddenAct != "gelu";
        var posIds = rows?.Positions ?? Branches?.Positions ?? new int[batch * len];
        if (rows is null && Branches is null)
            for (int i = 0; i < posIds.Length; i++) posIds[i] = pos + i % len;
        var h = Add.Forward(tape, Embedding.Forward(tape, ids, _wte.Value), Embedding.Forward(tape, posIds, _wpe.Value));
        var residual = new InferenceResidual(tape, h);
        for (int l = 0; l < _blocks.Length; l++)
        {
            var B = _blocks[l];
            var qkv = B.CAttn.Forward(tape, LayerNorm.Forward(tape, h, B.Ln1W.Value, B.Ln1B.Value, eps));
            Tensor a;
            if (caches is null)
                a = CausalAttention.Forward(tape, qkv, batch, c.NumHeads, c.NumHeads, keyMask, branches: Branches);
            else
            {
                // the cache takes separate k and v: copy the column blocks out of the fused projection
                var (q, k, v) = Split(tape, qkv, e);
                a = rows is null ? CausalAttention.Decode(tape, q, k, v, caches[l], pos, c.NumHeads, c.NumHeads)
                    : CausalAttention.DecodeRows(tape, q, k, v, caches[l], rows, c.NumHeads, c.NumHeads);
            }
            h = Add.Forward(tape, h, B.AttnProj.Forward(tape, a));
            var m = Gelu.Forward(tape, B.CFc.Forward(tape, LayerNorm.Forward(tape, h, B.Ln2W.Value, B.Ln2B.Value, eps)), tanh);
            h = Add.Forward(tape, h, B.MlpProj.Forward(tape, m));
            h = residual.End(h);
        }
        h = LayerNorm.Forward(tape, h, _lnFW.Value, _lnFB.Value, eps);
        h = LastRows(tape, h, batch, lastOnly);
        return HeadLinear(tape, h, _lmHead ?? _wte);
    }

    static (Tensor Q, Tensor K, Tensor V) Split(Tape tape, Tensor qkv, int e)
    {
        int rows = qkv.Rows;
        Tensor q = tape.New(rows, e), k = tape.New(rows, e), v = tape.New(rows, e);
        for (int r = 0; r < rows; r++)
        {
            var src = qkv.Row(r);
            src[..e].CopyTo(q.Row(r));
            src.Slice(e, e).CopyTo(k.Row(r));
            src.Slice(2 * e, e).CopyTo(v.Row(r));
        }
        return (q, k, v);
    }
}

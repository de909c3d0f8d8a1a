using Distill.Models.Layers;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Models.Phi;

/// <summary>
/// PhiForCausalLM (Phi-2) as transformers' modeling_phi.py computes it: one LayerNorm per block feeds attention
/// and MLP in parallel, h = h + dense(attn(x)) + fc2(gelu_new(fc1(x))) with x = input_layernorm(h); RoPE rotates
/// only the first partial_rotary_factor · head_dim dimensions of each head; every projection has a bias;
/// logits = lm_head(final_layernorm(h)) with lm_head's bias.
/// </summary>
public sealed class PhiForCausalLM : CausalLM
{
    sealed record Layer(Parameter LnW, Parameter LnB, LinearLayer Q, LinearLayer K, LinearLayer V, LinearLayer Dense, LinearLayer Fc1, LinearLayer Fc2);

    readonly Parameter _embed, _lnW, _lnB;
    readonly LinearLayer _lmHead;
    readonly Layer[] _layers;

    public PhiForCausalLM(ModelConfig c) : base(c)
    {
        int h = c.HiddenSize, q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim;
        _embed = AddWeight(PhiWeights.EmbedTokens, [c.VocabSize, h]);
        _layers = new Layer[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
            _layers[l] = new Layer(
                AddWeight(PhiWeights.InputLayerNorm(l) + ".weight", [h]), AddWeight(PhiWeights.InputLayerNorm(l) + ".bias", [h]),
                AddLinear(PhiWeights.QProj(l), h, q, true), AddLinear(PhiWeights.KProj(l), h, kv, true),
                AddLinear(PhiWeights.VProj(l), h, kv, true), AddLinear(PhiWeights.Dense(l), q, h, true),
                AddLinear(PhiWeights.Fc1(l), h, c.IntermediateSize, true), AddLinear(PhiWeights.Fc2(l), c.IntermediateSize, h, true));
        _lnW = AddWeight(PhiWeights.FinalLayerNorm + ".weight", [h]);
        _lnB = AddWeight(PhiWeights.FinalLayerNorm + ".bias", [h]);
        if (c.TieWordEmbeddings) throw new NotSupportedException("PhiForCausalLM with tie_word_embeddings = true is not implemented (Phi-2 is untied)");
        _lmHead = AddLinear(PhiWeights.LmHead, h, c.VocabSize, true);
    }

    protected override Tensor Run(Tape tape, int[] ids, int batch, KvCache[]? caches, int pos, Tensor? keyMask, DecodeRows? rows, bool lastOnly)
    {
        var c = Config;
        int len = ids.Length / batch;
        float eps = (float)c.NormEps;
        var rope = RopeOf(pos, len, rows);
        var positions = PositionsOf(pos, len, rows);
        var h = Embedding.Forward(tape, ids, _embed.Value);
        var residual = new InferenceResidual(tape, h);
        for (int l = 0; l < _layers.Length; l++)
        {
            var L = _layers[l];
            var x = LayerNorm.Forward(tape, h, L.LnW.Value, L.LnB.Value, eps);
            var a = RotarySelfAttention(tape, x, L.Q, L.K, L.V, l, batch, caches?[l], pos, keyMask, rope, positions, rows);
            var mlp = L.Fc2.Forward(tape, Gelu.Forward(tape, L.Fc1.Forward(tape, x), tanhApprox: true));
            h = Add.Forward(tape, Add.Forward(tape, L.Dense.Forward(tape, a), mlp), h);
            h = residual.End(h);
        }
        h = LayerNorm.Forward(tape, h, _lnW.Value, _lnB.Value, eps);
        h = LastRows(tape, h, batch, lastOnly);
        return _lmHead.Forward(tape, h);
    }
}

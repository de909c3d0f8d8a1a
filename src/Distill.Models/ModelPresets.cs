namespace Distill.Models;

/// <summary>
/// Named shapes for `distill init` and the benchmarks. A preset's vocabulary follows the tokenizer
/// (<see cref="WithVocab"/>) unless <see cref="FixesVocab"/> says the shape is a published model's.
/// </summary>
public static class ModelPresets
{
    public static readonly string[] Names = ["tiny", "tiny-reward", "tiny-phi3", "bench-small", "bench-small-llama", "gpt2-124m", "smollm2-135m",
        "tiny-qwen3", "tiny-gemma3", "qwen3-0.6b", "gemma-3-270m"];

    public static ModelConfig Get(string name) => name switch
    {
        // ≈ 0.4 M parameters with a 1024-token vocabulary: Llama-style (GQA, SwiGLU, RoPE), untied.
        "tiny" => Llama(vocab: 1024, hidden: 96, inter: 256, layers: 2, heads: 4, kvHeads: 2, maxPos: 512, tie: false, theta: 10000),
        // The tiny decoder as a reward model: LlamaForSequenceClassification, num_labels 1 (a `score` head instead of lm_head).
        // No pad_token_id (the tokenizer may have none): a reward model then scores one sequence per forward.
        "tiny-reward" => Get("tiny") with { Architecture = "LlamaForSequenceClassification", NumLabels = 1 },
        // ≈ 0.4 M parameters, Phi-3 style: fused qkv_proj / gate_up_proj, RMSNorm, SwiGLU, untied, Phi-3-mini's sliding
        // window 2047 and eps 1e-5 (Phi-3-mini-4k-instruct's config.json); pad = eos = 32000 fall away with a small vocabulary.
        "tiny-phi3" => new ModelConfig
        {
            Architecture = "Phi3ForCausalLM", ModelType = "phi3", Family = ModelFamily.Phi3,
            VocabSize = 1024, HiddenSize = 96, IntermediateSize = 256, NumLayers = 2, NumHeads = 4, NumKvHeads = 4, HeadDim = 24,
            MaxPositionEmbeddings = 4096, NormEps = 1e-5, HiddenAct = "silu", TieWordEmbeddings = false, InitializerRange = 0.02,
            SlidingWindow = 2047, BosTokenId = 1, EosTokenIds = [32000], PadTokenId = 32000,
        },
        // GPT-2 style benchmark shape: vocab 8192, 6 layers, width 384, 6 heads.
        "bench-small" => WithVocab(Gpt2(vocab: 50257, embd: 384, layers: 6, heads: 6, positions: 1024), 8192),
        // The same width and depth, Llama style: SwiGLU hidden 1024, untied.
        "bench-small-llama" => Llama(vocab: 8192, hidden: 384, inter: 1024, layers: 6, heads: 6, kvHeads: 6, maxPos: 1024, tie: false, theta: 10000),
        // GPT2Config defaults (the 124M "gpt2" checkpoint).
        "gpt2-124m" => Gpt2(vocab: 50257, embd: 768, layers: 12, heads: 12, positions: 1024),
        // HuggingFaceTB/SmolLM2-135M config.json (transformers 4.48 dump): bos = eos = 0, initializer_range 1/24.
        "smollm2-135m" => Llama(vocab: 49152, hidden: 576, inter: 1536, layers: 30, heads: 9, kvHeads: 3, maxPos: 2048, tie: true, theta: 100000) with
        {
            NormEps = 1e-5, InitializerRange = 0.041666666666666664, BosTokenId = 0, EosTokenIds = [0], TorchDType = "bfloat16",
        },
        // ≈ 0.4 M parameters, Qwen3 style: q_norm / k_norm, head_dim 32 ≠ hidden / heads, tied (as Qwen3-0.6B).
        "tiny-qwen3" => Qwen3(vocab: 1024, hidden: 96, inter: 256, layers: 2, heads: 4, kvHeads: 2, headDim: 32, maxPos: 512) with { BosTokenId = null, EosTokenIds = [] },
        // ≈ 0.4 M parameters, Gemma 3 style: 3 layers (sliding, sliding, global: the 270M pattern compressed), window 64.
        "tiny-gemma3" => Gemma3(vocab: 1024, hidden: 96, inter: 256, layers: 3, heads: 4, kvHeads: 1, headDim: 32, window: 64, maxPos: 512,
            types: ["sliding_attention", "sliding_attention", "full_attention"]),
        // Qwen/Qwen3-0.6B config.json (transformers 4.51 dump): 28 layers, hidden 1024, 16/8 heads of 128, tied, rope_theta 1e6,
        // max_position_embeddings 40960, bos 151643, eos 151645 (<|im_end|>), bfloat16.
        "qwen3-0.6b" => Qwen3(vocab: 151936, hidden: 1024, inter: 3072, layers: 28, heads: 16, kvHeads: 8, headDim: 128, maxPos: 40960) with
        {
            BosTokenId = 151643, EosTokenIds = [151645], TorchDType = "bfloat16",
        },
        // google/gemma-3-270m config.json (transformers 4.55 dump): 18 layers (5 sliding then 1 global), hidden 640, 4 heads and 1 kv
        // head of 256, intermediate 2048, vocab 262144, sliding_window 512, rope_theta 1e6 / local 1e4, query_pre_attn_scalar 256,
        // max_position_embeddings 32768, tied, bos 2, eos 1, pad 0, bfloat16.
        "gemma-3-270m" => Gemma3(vocab: 262144, hidden: 640, inter: 2048, layers: 18, heads: 4, kvHeads: 1, headDim: 256, window: 512, maxPos: 32768,
            types: Enumerable.Range(0, 18).Select(i => (i + 1) % 6 != 0 ? "sliding_attention" : "full_attention").ToArray()) with { TorchDType = "bfloat16" },
        _ => throw new ArgumentException($"unknown preset '{name}' (known: {string.Join(", ", Names)})"),
    };

    /// <summary>True for presets that reproduce a published model, whose vocabulary is part of the shape.</summary>
    public static bool FixesVocab(string name) => name is "gpt2-124m" or "smollm2-135m" or "qwen3-0.6b" or "gemma-3-270m";

    /// <summary>Resizes the vocabulary; special-token ids that no longer exist are dropped (the tokenizer supplies them).</summary>
    public static ModelConfig WithVocab(ModelConfig c, int vocab) => c with
    {
        VocabSize = vocab,
        BosTokenId = c.BosTokenId < vocab ? c.BosTokenId : null,
        EosTokenIds = c.EosTokenIds.Where(e => e < vocab).ToArray(),
        PadTokenId = c.PadTokenId < vocab ? c.PadTokenId : null,
    };

    static ModelConfig Llama(int vocab, int hidden, int inter, int layers, int heads, int kvHeads, int maxPos, bool tie, double theta) => new()
    {
        Architecture = "LlamaForCausalLM", ModelType = "llama", Family = ModelFamily.Llama,
        VocabSize = vocab, HiddenSize = hidden, IntermediateSize = inter, NumLayers = layers, NumHeads = heads,
        NumKvHeads = kvHeads, HeadDim = hidden / heads, MaxPositionEmbeddings = maxPos, NormEps = 1e-6, HiddenAct = "silu",
        TieWordEmbeddings = tie, InitializerRange = 0.02, RopeTheta = theta, BosTokenId = 1, EosTokenIds = [2],
    };

    static ModelConfig Qwen3(int vocab, int hidden, int inter, int layers, int heads, int kvHeads, int headDim, int maxPos) => new()
    {
        Architecture = "Qwen3ForCausalLM", ModelType = "qwen3", Family = ModelFamily.Llama,
        VocabSize = vocab, HiddenSize = hidden, IntermediateSize = inter, NumLayers = layers, NumHeads = heads, NumKvHeads = kvHeads,
        HeadDim = headDim, MaxPositionEmbeddings = maxPos, NormEps = 1e-6, HiddenAct = "silu", TieWordEmbeddings = true,
        InitializerRange = 0.02, RopeTheta = 1_000_000, QkNorm = true,
    };

    static ModelConfig Gemma3(int vocab, int hidden, int inter, int layers, int heads, int kvHeads, int headDim, int window, int maxPos, string[] types) => new()
    {
        Architecture = "Gemma3ForCausalLM", ModelType = "gemma3_text", Family = ModelFamily.Gemma3,
        VocabSize = vocab, HiddenSize = hidden, IntermediateSize = inter, NumLayers = layers, NumHeads = heads, NumKvHeads = kvHeads,
        HeadDim = headDim, MaxPositionEmbeddings = maxPos, NormEps = 1e-6, HiddenAct = "gelu_pytorch_tanh", TieWordEmbeddings = true,
        InitializerRange = 0.02, RopeTheta = 1_000_000, RopeLocalTheta = 10_000, QueryPreAttnScalar = 256, QkNorm = true,
        SlidingWindow = window, LayerTypes = types, BosTokenId = 2, EosTokenIds = [1], PadTokenId = 0,
    };

    static ModelConfig Gpt2(int vocab, int embd, int layers, int heads, int positions) => new()
    {
        Architecture = "GPT2LMHeadModel", ModelType = "gpt2", Family = ModelFamily.Gpt2,
        VocabSize = vocab, HiddenSize = embd, IntermediateSize = 4 * embd, NumLayers = layers, NumHeads = heads,
        NumKvHeads = heads, HeadDim = embd / heads, MaxPositionEmbeddings = positions, NormEps = 1e-5, HiddenAct = "gelu_new",
        TieWordEmbeddings = true, InitializerRange = 0.02, QkvBias = true, OProjBias = true, MlpBias = true,
        BosTokenId = 50256, EosTokenIds = [50256], ResidDropout = 0.1, EmbdDropout = 0.1, AttentionDropout = 0.1,
    };
}

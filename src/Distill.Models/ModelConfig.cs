namespace Distill.Models;

/// <summary>The families Distill implements; each maps to one forward in Models/&lt;Family&gt;/.</summary>
public enum ModelFamily { Llama, Gpt2, Phi, Phi3, Gemma3 }

/// <summary>
/// rope_scaling of config.json: "linear" (positions / factor), "llama3" (wavelength-banded scaling) or, for Phi-3,
/// "longrope" (per-frequency short or long factors chosen by the sequence length, cos and sin scaled by an attention factor).
/// </summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalMaxPositionEmbeddings = 8192)
{
    /// <summary>longrope: divisors of the inverse frequencies (rotary_dim / 2 each) up to and past original_max_position_embeddings.</summary>
    public float[]? ShortFactor { get; init; }
    public float[]? LongFactor { get; init; }
    /// <summary>longrope: rope_scaling.attention_factor when the config gives one.</summary>
    public double? AttentionFactor { get; init; }

    /// <summary>
    /// The factor cos and sin are multiplied by (longrope; 1 otherwise): attention_factor if given, else
    /// √(1 + ln factor / ln original_max_position_embeddings) for factor &gt; 1 (modeling_rope_utils.py _compute_longrope_parameters).
    /// </summary>
    public double AttentionScaling => Type != "longrope" ? 1 : AttentionFactor ?? (Factor <= 1 ? 1 : Math.Sqrt(1 + Math.Log(Factor) / Math.Log(OriginalMaxPositionEmbeddings)));
}

/// <summary>
/// One decoder-only transformer's hyper-parameters, normalised across families. Read from and written to
/// config.json with each family's Hugging Face key names (Formats/ConfigJson.cs and the family's config
/// file), so the values here are what transformers would hold after applying its defaults.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>The `architectures[0]` class name, e.g. "LlamaForCausalLM".</summary>
    public required string Architecture { get; init; }
    /// <summary>config.json's `model_type`: "llama", "qwen2", "qwen3", "mistral", "gpt2", "phi", "phi3" or "gemma3_text".</summary>
    public required string ModelType { get; init; }
    public required ModelFamily Family { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    /// <summary>rms_norm_eps (Llama family) or layer_norm_epsilon / layer_norm_eps (GPT-2, Phi).</summary>
    public required double NormEps { get; init; }
    public required string HiddenAct { get; init; }
    public required bool TieWordEmbeddings { get; init; }
    public required double InitializerRange { get; init; }
    public double RopeTheta { get; init; } = 10000;
    public RopeScaling? RopeScaling { get; init; }
    /// <summary>Fraction of each head's dimensions that are rotated (Phi: 0.5; Phi-3: partial_rotary_factor, default 1; others 1).</summary>
    public double PartialRotaryFactor { get; init; } = 1;
    /// <summary>Biases on q, k and v projections (Qwen2: true; Llama: attention_bias, also on o_proj).</summary>
    public bool QkvBias { get; init; }
    public bool OProjBias { get; init; }
    public bool MlpBias { get; init; }
    /// <summary>RMSNorm over each head's queries and keys before RoPE (Qwen3's and Gemma 3's q_norm / k_norm, weight of head_dim).</summary>
    public bool QkNorm { get; init; }
    /// <summary>
    /// Per-layer attention kind when layers differ ("sliding_attention" or "full_attention"; Gemma 3's interleaving): a
    /// sliding layer uses <see cref="SlidingWindow"/>. Null: <see cref="SlidingWindowLayers"/> decides.
    /// </summary>
    public string[]? LayerTypes { get; init; }
    /// <summary>Gemma 3: rope_local_base_freq, the RoPE base of sliding layers (plain RoPE; rope_theta and its scaling are the global layers').</summary>
    public double? RopeLocalTheta { get; init; }
    /// <summary>Gemma 3: attention scores are scaled by query_pre_attn_scalar^−½ instead of head_dim^−½.</summary>
    public double? QueryPreAttnScalar { get; init; }
    /// <summary>Gemma 3: final_logit_softcapping c (logits = c · tanh(logits / c)); null for none.</summary>
    public double? FinalLogitSoftcapping { get; init; }
    /// <summary>sliding_window (Mistral, Phi-3; Qwen2 with use_sliding_window): query p sees keys p − window &lt; j ≤ p. Null: full causal attention.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>First layer that uses the window: Qwen2's max_window_layers (layers i ≥ it slide); 0 for Mistral and Phi-3 (every layer).</summary>
    public int SlidingWindowLayers { get; init; }
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    /// <summary>Dropout probabilities, used only when training (resid_pdrop / embd_pdrop / attention_dropout).</summary>
    public double ResidDropout { get; init; }
    public double EmbdDropout { get; init; }
    public double AttentionDropout { get; init; }
    /// <summary>
    /// The classifier head's outputs for *ForSequenceClassification (a `score` Linear on the last non-pad token; a reward
    /// model has 1); null for a language model. PretrainedConfig's rule: len(id2label) when given, else num_labels, else 2.
    /// </summary>
    public int? NumLabels { get; init; }
    /// <summary>True for a sequence classifier (reward model): its forward yields per-token scores, not vocabulary logits.</summary>
    public bool IsSequenceClassifier => NumLabels is not null;
    /// <summary>torch_dtype as written in config.json ("float32", "bfloat16", ...); weights are float32 in memory.</summary>
    public string TorchDType { get; init; } = "float32";

    /// <summary>
    /// Which generation of transformers' config.json this was read from: 5 when it carries `rope_parameters` or `dtype`,
    /// else 4. Both are read alike; Distill writes the 4 form, which both generations read.
    /// </summary>
    public int ConfigGeneration { get; init; } = 4;

    /// <summary>Dimensions rotated by RoPE in each head: int(head_dim × partial_rotary_factor), as transformers computes it.</summary>
    public int RotaryDim => (int)(HeadDim * PartialRotaryFactor);

    /// <summary>Checks the invariants the forward relies on; the message names the config.json key.</summary>
    public void Validate(string where = "config.json")
    {
        void Positive(int v, string key) { if (v <= 0) throw new Formats.ModelFormatException($"{where}: '{key}' must be positive, got {v}"); }
        Positive(VocabSize, "vocab_size"); Positive(HiddenSize, "hidden_size"); Positive(IntermediateSize, "intermediate_size");
        Positive(NumLayers, "num_hidden_layers"); Positive(NumHeads, "num_attention_heads"); Positive(NumKvHeads, "num_key_value_heads");
        Positive(HeadDim, "head_dim"); Positive(MaxPositionEmbeddings, "max_position_embeddings");
        if (NumHeads % NumKvHeads != 0)
            throw new Formats.ModelFormatException($"{where}: 'num_attention_heads' ({NumHeads}) must be a multiple of 'num_key_value_heads' ({NumKvHeads})");
        if (Family is ModelFamily.Gpt2 or ModelFamily.Phi && HeadDim * NumHeads != HiddenSize)
            throw new Formats.ModelFormatException($"{where}: hidden size {HiddenSize} is not divisible by {NumHeads} heads");
        if (RotaryDim % 2 != 0)
            throw new Formats.ModelFormatException($"{where}: rotary dimension {RotaryDim} (head_dim × partial_rotary_factor) must be even");
        if (SlidingWindow is <= 0) throw new Formats.ModelFormatException($"{where}: 'sliding_window' must be positive or null, got {SlidingWindow}");
        if (NumLabels is <= 0) throw new Formats.ModelFormatException($"{where}: 'num_labels' / 'id2label' must give at least one label, got {NumLabels}");
        if (NormEps <= 0) throw new Formats.ModelFormatException($"{where}: the norm epsilon must be positive");
        if (LayerTypes is { } types && types.Length != NumLayers)
            throw new Formats.ModelFormatException($"{where}: 'layer_types' has {types.Length} entries for {NumLayers} layers");
        if (QueryPreAttnScalar is <= 0) throw new Formats.ModelFormatException($"{where}: 'query_pre_attn_scalar' must be positive, got {QueryPreAttnScalar}");
        if (FinalLogitSoftcapping is <= 0) throw new Formats.ModelFormatException($"{where}: 'final_logit_softcapping' must be positive or null, got {FinalLogitSoftcapping}");
    }
}

namespace Distill.Bench.Models;

/// <summary>
/// The decoder-only models of bench/reference/torch_baseline.py. Arch "gpt2": learned positions,
/// pre-LayerNorm, fused qkv with bias, GELU(tanh) MLP of 4C, tied head. Arch "llama": RMSNorm (eps 1e-5),
/// RoPE (base 10000, rotate-half), q/k/v/o without bias, SwiGLU MLP of Hidden, untied head.
/// LoraRank &gt; 0 (llama only): every base weight frozen, rank-r adapters (alpha = r) on q, k, v, o.
/// </summary>
public sealed record TransformerConfig(string Arch, int Vocab, int SeqLen, int Batch, int Layers, int Channels, int Heads,
    int Hidden, int LoraRank = 0, int MaxPositions = 1024)
{
    public int HeadDim => Channels / Heads;

    public void Validate()
    {
        if (Arch is not ("gpt2" or "llama")) throw new ArgumentException($"TransformerConfig.Arch: '{Arch}' is neither gpt2 nor llama");
        if (Channels % Heads != 0) throw new ArgumentException($"TransformerConfig: channels {Channels} not divisible by heads {Heads}");
        if (LoraRank > 0 && Arch != "llama") throw new ArgumentException("TransformerConfig: LoRA is built for llama only");
        if (SeqLen > MaxPositions) throw new ArgumentException($"TransformerConfig: SeqLen {SeqLen} > MaxPositions {MaxPositions}");
        if (Vocab <= 0 || Layers <= 0 || Batch <= 0 || SeqLen <= 0) throw new ArgumentException("TransformerConfig: sizes must be positive");
    }

    /// <summary>The benchmark configs of torch_baseline.py (CONFIGS), by the names `distill bench engine` uses (its training step builds them as CausalLM presets: Distill.Bench.Cli/EngineTrainBench.cs).</summary>
    public static TransformerConfig Named(string name) => name switch
    {
        "bench-small" => new("gpt2", 8192, 128, 8, 6, 384, 6, 1024),
        "bench-small-llama" => new("llama", 8192, 128, 8, 6, 384, 6, 1024),
        "bench-small-lora" => new("llama", 8192, 128, 8, 6, 384, 6, 1024, LoraRank: 8),
        "gpt2-124M" => new("gpt2", 50257, 64, 4, 12, 768, 12, 2048),
        _ => throw new ArgumentException($"unknown config '{name}' (known: bench-small, bench-small-llama, bench-small-lora, gpt2-124M)"),
    };
}

using Distill.Models;
using Distill.Models.Formats.Gguf;
using Distill.Text;
using Xunit.Abstractions;

namespace Distill.Export.Tests;

/// <summary>
/// Issue 17 §2: llama.cpp itself loads each exported GGUF and greedy-decodes 32 tokens from a fixed prompt. f32 and
/// f16 must give Distill's own greedy tokens, q8_0 at least the first 8; the prompt's ids from llama.cpp's tokenizer
/// must equal Distill's. Every step's top-2 logit gap in Distill is reported, and the run must not be degenerate
/// (a continuation of one repeated token would agree under many wrong mappings).
/// </summary>
public class LlamaCppRunsExportTests(ITestOutputHelper output)
{
    public const string Prompt = "The quick brown fox jumps over the lazy dog. Once upon a time,";
    const int Steps = 32;

    [Theory]
    [InlineData("llama", "f32"), InlineData("llama", "f16"), InlineData("llama", "q8_0")]
    [InlineData("llama3", "f32"), InlineData("llama3", "q8_0")]
    [InlineData("qwen2", "f32"), InlineData("qwen2", "f16"), InlineData("qwen2", "q8_0")]
    [InlineData("gpt2", "f32"), InlineData("gpt2", "f16"), InlineData("gpt2", "q8_0")]
    [InlineData("qwen3", "f32"), InlineData("qwen3", "f16"), InlineData("qwen3", "q8_0")]
    [InlineData("gemma3", "f32"), InlineData("gemma3", "f16"), InlineData("gemma3", "q8_0")]
    public void LlamaCppDecodesWhatDistillDecodes(string family, string dtype)
    {
        var dir = TinyModels.Folder(family);
        var gguf = Path.Combine(TestPaths.TempDir(), $"{family}-{dtype}.gguf");
        using var model = ModelIO.Load(dir);
        GgufExport.Write(model, dir, gguf, dtype);

        var prompt = TokenizerLoader.Load(dir).EncodeToIds(Prompt).ToArray();
        var (expected, gap) = DistillGreedy.Of(dir, model, prompt, Steps);
        using var llama = new LlamaCpp(gguf);
        Assert.Equal(prompt, llama.Tokenize(Prompt));
        var actual = llama.Greedy(prompt, Steps);
        int agree = expected.Zip(actual).TakeWhile(p => p.First == p.Second).Count();
        output.WriteLine($"{family} {dtype}: {agree}/{Steps} tokens agree; Distill's smallest top-2 gap {gap:F3}; {expected.Distinct().Count()} distinct tokens");
        output.WriteLine($"  distill  : {string.Join(' ', expected)}");
        output.WriteLine($"  llama.cpp: {string.Join(' ', actual)}");
        Assert.True(expected.Distinct().Count() >= 8, "the continuation is degenerate; the comparison would prove little");
        if (dtype == "q8_0") Assert.True(agree >= 8, $"q8_0: only the first {agree} tokens agree");
        else Assert.Equal(expected, actual);
    }

    /// <summary>
    /// The check can fail: the same export without the Q/K row permutation (HF's rotate-half RoPE fed to llama.cpp's
    /// adjacent-pair RoPE) makes llama.cpp decode something else.
    /// </summary>
    [Fact]
    public void WithoutTheQkPermutationLlamaCppDisagrees()
    {
        var dir = TinyModels.Folder("llama");
        var gguf = Path.Combine(TestPaths.TempDir(), "llama-unpermuted.gguf");
        using var model = ModelIO.Load(dir);
        GgufExport.Write(model, dir, gguf, "f32", architecture: new LlamaGguf("llama", permuteQk: false));
        var prompt = TokenizerLoader.Load(dir).EncodeToIds(Prompt).ToArray();
        var (expected, _) = DistillGreedy.Of(dir, model, prompt, Steps);
        using var llama = new LlamaCpp(gguf);
        var actual = llama.Greedy(prompt, Steps);
        int agree = expected.Zip(actual).TakeWhile(p => p.First == p.Second).Count();
        output.WriteLine($"unpermuted: {agree}/{Steps} agree");
        Assert.NotEqual(expected, actual);
    }

    /// <summary>
    /// The new families' checks can fail too: Gemma 3's norms written without the converter's + 1 (llama.cpp's RMSNorm
    /// is x·w, Gemma's x·(1 + w)), and Qwen3 written with Llama's Q/K row permutation (qwen3 uses the NEOX RoPE, as
    /// Qwen2), each make llama.cpp decode something else. (Swapping Qwen3's attn_q_norm and attn_k_norm was tried
    /// first: after 150 steps the two per-head weights are too alike for it to change a token, so it proves nothing.)
    /// </summary>
    [Theory]
    [InlineData("gemma3"), InlineData("qwen3")]
    public void AWrongMappingOfTheNewFamiliesMakesLlamaCppDisagree(string family)
    {
        var dir = TinyModels.Folder(family);
        var gguf = Path.Combine(TestPaths.TempDir(), $"{family}-wrong.gguf");
        using var model = ModelIO.Load(dir);
        IGgufArchitecture arch = family == "gemma3"
            ? new Altered(GgufArchitectures.For(model.Config),
                t => t.Name.EndsWith("norm.weight", StringComparison.Ordinal) ? t with { Data = t.Data.Select(x => x - 1f).ToArray() } : t)
            : new LlamaGguf("qwen3", permuteQk: true);
        GgufExport.Write(model, dir, gguf, "f32", architecture: arch);
        var prompt = TokenizerLoader.Load(dir).EncodeToIds(Prompt).ToArray();
        var (expected, _) = DistillGreedy.Of(dir, model, prompt, Steps);
        using var llama = new LlamaCpp(gguf);
        var actual = llama.Greedy(prompt, Steps);
        output.WriteLine($"{family} wrong mapping: {expected.Zip(actual).TakeWhile(p => p.First == p.Second).Count()}/{Steps} agree");
        Assert.NotEqual(expected, actual);
    }

    sealed class Altered(IGgufArchitecture inner, Func<GgufSource, GgufSource> change) : IGgufArchitecture
    {
        public string Name => inner.Name;
        public IEnumerable<GgufEntry> Metadata(ModelConfig c) => inner.Metadata(c);
        public IEnumerable<GgufSource> Tensors(CausalLM model) => inner.Tensors(model).Select(change).ToList();
    }
}

using System.Text.Json.Nodes;
using Distill.Methods.Runs;

namespace Distill.Methods.Tests.Runs;

/// <summary>The recipe's train stage on the Trainer: interrupted and resumed, and its fail-fast checks.</summary>
public class TrainStageTests
{
    /// <summary>A log that cancels the run when a line containing <paramref name="trigger"/> is written.</summary>
    sealed class CancellingLog(string trigger, CancellationTokenSource cts) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(trigger, StringComparison.Ordinal)) cts.Cancel();
        }
    }

    static IEnumerable<string> Deterministic(string metricsFile)
        => File.ReadAllLines(metricsFile).Select(l =>
        {
            var o = JsonNode.Parse(l)!.AsObject();
            o.Remove("tokens_per_s");
            o.Remove("elapsed_s");
            return o.ToJsonString();
        });

    /// <summary>
    /// token-kd with GKD λ = 0.5 stopped after step 4 (its checkpoint), then `--resume`: data and models are skipped,
    /// training continues from step 4, and metrics.jsonl (wall-clock fields aside) and the adapter equal an
    /// uninterrupted run's — the on-policy draws included, since the trainer's generator is checkpointed.
    /// </summary>
    [Fact]
    public async Task TokenKd_InterruptedMidTraining_ResumesToTheUninterruptedResult()
    {
        // the teacher's own fine-tuning (models stage) has nothing to do with resuming the train stage: skipped for time
        var recipe = Recipe.Load(SmokeRecipeTests.RecipePath("token-kd"), ["teacher.init_steps=0"]);
        Assert.Equal(0.5, recipe.Float("train.kd.lambda"));
        var whole = Directory.CreateTempSubdirectory("distill-run-").FullName;
        var cut = Directory.CreateTempSubdirectory("distill-run-").FullName;
        try
        {
            await RunPipeline.RunAsync(recipe, whole, false, new StringWriter());

            using var cts = new CancellationTokenSource();
            var log = new CancellingLog("[train] step 4/", cts);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunPipeline.RunAsync(recipe, cut, false, log, ct: cts.Token));
            Assert.False(File.Exists(Path.Combine(cut, "stages", "train.json")));
            Assert.False(Directory.Exists(Path.Combine(cut, "adapter")));
            Assert.Equal(4, File.ReadAllLines(Path.Combine(cut, "metrics.jsonl")).Length);

            var resumed = new StringWriter();
            await RunPipeline.RunAsync(recipe, cut, true, resumed);
            Assert.Contains("[data] complete, skipped", resumed.ToString());
            Assert.Contains("[models] complete, skipped", resumed.ToString());
            Assert.Contains("[train] resumed from step 4", resumed.ToString());
            Assert.Equal(Deterministic(Path.Combine(whole, "metrics.jsonl")), Deterministic(Path.Combine(cut, "metrics.jsonl")));
            var onPolicy = Deterministic(Path.Combine(cut, "metrics.jsonl")).Select(l => (int)JsonNode.Parse(l)!["kd/on_policy"]!).ToList();
            Assert.Contains(1, onPolicy);  // λ = 0.5: some micro-batches were the student's samples...
            Assert.Contains(0, onPolicy);  // ...and some the data's completions
            Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "adapter", "adapter_model.safetensors")),
                File.ReadAllBytes(Path.Combine(cut, "adapter", "adapter_model.safetensors")));
        }
        finally
        {
            Directory.Delete(whole, recursive: true);
            Directory.Delete(cut, recursive: true);
        }
    }

    [Fact]
    public async Task TokenKd_TeacherWithAnotherVocabulary_FailsNamingBothSizesAndTokenizers()
    {
        var work = Directory.CreateTempSubdirectory("distill-run-").FullName;
        try
        {
            // a teacher on GPT-2's tokenizer (50,257 tokens) for a student on the run's own 384-token BPE
            var gpt2 = Distill.Data.RepoData.Find("tokenizers", "gpt2") ?? throw new InvalidOperationException("data/tokenizers/gpt2 not found");
            var teacherDir = Path.Combine(work, "teacher");
            var config = Distill.Models.ModelFolder.ResolveConfig("tiny", gpt2);
            Distill.Models.ModelFolder.Init(config, gpt2, teacherDir, 1, Distill.Models.Formats.SafetensorsDType.F32);
            var recipe = Recipe.Load(SmokeRecipeTests.RecipePath("token-kd"), ["teacher.init=", "teacher.init_steps=0", $"teacher.model={teacherDir}"]);
            var e = await Assert.ThrowsAsync<ArgumentException>(() => RunPipeline.RunAsync(recipe, Path.Combine(work, "run"), false, new StringWriter()));
            Assert.Contains("token-level KD needs a teacher sharing the student's vocabulary", e.Message);
            Assert.Contains($"teacher {teacherDir} has a vocabulary of {config.VocabSize} tokens (tokenizer {teacherDir}/tokenizer.json)", e.Message);
            Assert.Contains("student ", e.Message);
            Assert.Contains("384 (tokenizer ", e.Message);
            Assert.Contains("use SeqKD", e.Message);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public void VocabularyDifference_SameSizeButAnotherToken_NamesTheId()
    {
        var work = Directory.CreateTempSubdirectory("distill-vocab-").FullName;
        try
        {
            string Tokenizer(string who, string text)
            {
                var dir = Path.Combine(work, who);
                Directory.CreateDirectory(dir);
                var bpe = Distill.Text.Trainer.BpeTrainer.Train(Enumerable.Repeat(text, 20), new Distill.Text.Trainer.BpeTrainerOptions(300, MinFrequency: 0, SpecialTokens: ["<|endoftext|>"]));
                Distill.Text.Trainer.BpeTrainer.Save(bpe, Path.Combine(dir, "tokenizer.json"));
                return dir;
            }
            var a = Tokenizer("a", "def add(a, b): return a + b  # adding numbers together");
            var b = Tokenizer("b", "the quick brown fox jumps over the lazy dog again and again");
            var same = Tokenizer("c", "def add(a, b): return a + b  # adding numbers together");
            Assert.Null(TokenKd.TokenKdMethod.VocabularyDifference(a, 300, same, 300));
            var why = TokenKd.TokenKdMethod.VocabularyDifference(a, 300, b, 300);
            Assert.NotNull(why);
            Assert.Matches($"both have 300 tokens, but id \\d+ is .+ in the teacher's tokenizer \\({a}/tokenizer.json\\) and .+ in the student's \\({b}/tokenizer.json\\)", why);
            Assert.StartsWith("teacher x has a vocabulary of 300 tokens (no tokenizer.json), student y 301 (no tokenizer.json)",
                TokenKd.TokenKdMethod.VocabularyDifference("x", 300, "y", 301));
        }
        finally { Directory.Delete(work, recursive: true); }
    }
}

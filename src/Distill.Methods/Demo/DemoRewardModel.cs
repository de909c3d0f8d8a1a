using System.Text.Json.Nodes;
using Distill.Data.BuiltInTask;
using Distill.Methods.Runs;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Tensors.Autograd;
using Distill.Tensors.Optim;
using Distill.Text;

namespace Distill.Methods.Demo;

/// <summary>
/// The demo's reward model (PLaD §5 evaluates with one): a small LlamaForSequenceClassification (num_labels 1, the student's
/// shape, the demo's BPE) trained from scratch with the Bradley–Terry loss −log σ(r(x, y⁺) − r(x, y⁻)) (Ouyang et al. 2022
/// Eq. 1) on the train shard's summaries: y⁺ = the reference description, y⁻ = a corrupted one — its words shuffled, or
/// another problem's description. It is read back through <see cref="Scoring.LocalRewardModel"/> (same encoding: prompt +
/// response, the tokenizer's special tokens, the last tokens kept), exactly as `distill eval winrate --reward-model` does.
/// Saved in DIR/reward-model with a complete.json marker; a resumed demo reuses it.
/// </summary>
public static class DemoRewardModel
{
    public static Task<string> TrainAsync(DemoPreset p, int seed, DemoPaths paths, bool resume, TextWriter log, CancellationToken ct,
        IProgress<RunProgressEvent>? progress = null)
    {
        var dir = paths.RewardModel;
        var marker = Path.Combine(dir, "complete.json");
        if (resume && File.Exists(marker)) return Task.FromResult(dir);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        var tokenizerFile = Path.Combine(paths.BaseRun, "models", "tokenizer.json");
        var config = ConfigJson.Load(paths.StudentConfig) with
        {
            Architecture = "LlamaForSequenceClassification", NumLabels = 1, BosTokenId = null, EosTokenIds = [0], PadTokenId = null,
        };
        ModelFolder.Init(config, tokenizerFile, dir, (ulong)seed + 17, SafetensorsDType.F32);
        var tokenizer = TokenizerLoader.Load(dir);
        int maxLength = p.MaxSeqLen * 2;
        int[] Encode(string prompt, string response)
        {
            var ids = tokenizer.EncodeToIds(prompt + response, addSpecialTokens: true).ToArray();
            return ids.Length <= maxLength ? ids : ids[^maxLength..];
        }

        var problems = TaskGenerator.Generate(Shard.Train, p.TrainProblems, (ulong)seed, p.MaxDifficulty);
        var rng = new Random(seed + 23);
        var pairs = new List<(int[] Chosen, int[] Rejected)>();
        for (int i = 0; i < p.RewardPairs; i++)
        {
            var x = problems[i % problems.Count];
            var prompt = (string)TaskViews.Record(x, TaskView.Sum)["prompt"]!;
            string rejected = i % 2 == 0 ? string.Join(' ', x.Description.Split(' ').OrderBy(_ => rng.Next()))
                : problems[(i + 1 + rng.Next(problems.Count - 1)) % problems.Count].Description;
            if (rejected == x.Description) rejected = string.Join(' ', x.Description.Split(' ').Reverse());
            pairs.Add((Encode(prompt, x.Description), Encode(prompt, rejected)));
        }

        using var model = ModelIO.Load(dir);
        var parameters = model.Weights.Select(w => w.Parameter).ToArray();
        using var optimizer = new AdamW(parameters, 1e-3f, weightDecay: 0f);
        using var tape = new Tape();
        var losses = new List<double>();
        const int pairsPerStep = 2;
        for (int step = 0; step < p.RewardSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            double loss = 0;
            for (int j = 0; j < pairsPerStep; j++)
            {
                var (c, r) = pairs[(step * pairsPerStep + j) % pairs.Count];
                double rc = Score(tape, model, c, null), rr = Score(tape, model, r, null);
                double sigma = 1 / (1 + Math.Exp(-(rc - rr)));
                loss += -Math.Log(Math.Max(sigma, 1e-12)) / pairsPerStep;
                // dL/drc = −(1 − σ(Δ)), dL/drr = 1 − σ(Δ), each averaged over the step's pairs
                Score(tape, model, c, (float)(-(1 - sigma) / pairsPerStep));
                Score(tape, model, r, (float)((1 - sigma) / pairsPerStep));
            }
            GradClip.ClipGlobalNorm(parameters, 1f);
            optimizer.Step();
            optimizer.ZeroGrad();
            losses.Add(loss);
            progress?.Report(new WorkProgress(0, "reward model (Bradley–Terry)", step + 1, p.RewardSteps, "steps", Loss: (float)loss));
        }
        ModelIO.Save(model, dir, SafetensorsDType.F32);
        RunDirectory.WriteAtomic(marker, new JsonObject
        {
            ["steps"] = p.RewardSteps, ["pairs"] = pairs.Count, ["first_loss"] = losses.FirstOrDefault(), ["last_loss"] = losses.LastOrDefault(),
        }.ToJsonString());
        log.WriteLine($"  reward model: {p.RewardSteps} Bradley–Terry steps on {pairs.Count} pairs, loss {losses.FirstOrDefault():G4} → {losses.LastOrDefault():G4}");
        return Task.FromResult(dir);
    }

    /// <summary>r(ids); with <paramref name="grad"/>, also backpropagates grad · ∂r/∂θ into the parameters' gradients.</summary>
    static double Score(Tape tape, CausalLM model, int[] ids, float? grad)
    {
        tape.Reset();
        tape.NoGrad = grad is null;
        var r = SequenceClassification.Pool(tape, model, ids, 1);
        double value = r.Span[0];
        if (grad is { } g) tape.Backward(r, [g]);
        return value;
    }
}

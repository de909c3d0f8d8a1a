using Distill.Evaluation.Scoring;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Text;
using Template = Distill.Text.ChatTemplate.ChatTemplate;

namespace Distill.Methods.Scoring;

/// <summary>
/// A local reward model: a *ForSequenceClassification folder with num_labels = 1 (TRL's RewardTrainer convention),
/// run on our engine. (prompt, response) is formatted as reward models are trained on it: with the folder's chat
/// template, a user turn then an assistant turn (no generation prompt), when tokenizer_config.json has one; otherwise
/// prompt + response as one text with the tokenizer's special tokens. The reward is the score head's output at the last
/// non-pad token (<see cref="SequenceClassification"/>). Longer inputs keep their last <see cref="MaxLength"/> tokens
/// — the end is where the score is read — and are counted in <see cref="Truncated"/>.
/// </summary>
public sealed class LocalRewardModel : IRewardModel, IDisposable
{
    readonly CausalLM _model;
    readonly Tokenizer _tokenizer;
    readonly Template? _template;
    readonly Lock _gate = new();
    int _truncated;

    LocalRewardModel(CausalLM model, Tokenizer tokenizer, Template? template, int maxLength, int batchSize)
    {
        _model = model;
        _tokenizer = tokenizer;
        _template = template;
        MaxLength = maxLength;
        BatchSize = batchSize;
    }

    public int MaxLength { get; }
    public int BatchSize { get; }
    /// <summary>How many inputs were cut to <see cref="MaxLength"/> tokens so far.</summary>
    public int Truncated => _truncated;
    /// <summary>"chat template" or "plain concatenation": how inputs are formatted (reports say which).</summary>
    public string Formatting => _template is null ? "plain concatenation" : "chat template";

    /// <param name="weights">the weights scoring runs on: f32 (reference), q8 / q8row (8-bit copies of the frozen
    /// weights) or bf16; the score head (num_labels × hidden) stays float, an adapter stays float.</param>
    public static LocalRewardModel Load(string dir, string? adapter = null, int maxLength = 2048, int batchSize = 8, InferenceWeights weights = InferenceWeights.F32)
    {
        if (maxLength < 2) throw new ArgumentException($"--max-length must be at least 2, got {maxLength}");
        if (batchSize < 1) throw new ArgumentException($"--batch-size must be at least 1, got {batchSize}");
        if (!File.Exists(Path.Combine(dir, "tokenizer.json")))
            throw new InvalidOperationException($"{dir}: no tokenizer.json — a reward model scores text and needs its tokenizer");
        var model = ModelIO.Load(dir);
        try
        {
            if (model.Config.NumLabels is not int labels)
                throw new InvalidOperationException($"{dir}: {model.Config.Architecture} is a language model; a reward model is a *ForSequenceClassification with num_labels = 1");
            if (labels != 1)
                throw new InvalidOperationException($"{dir}: the classifier has {labels} labels; a reward model has exactly one (num_labels = 1)");
            if (adapter is not null) LoraModel.Load(model, adapter);
            if (weights != InferenceWeights.F32)
            {
                model.FreezeBase(); // scoring only: frozen weights get their inference copies
                model.UseInferenceWeights(weights);
            }
            var tokenizer = TokenizerLoader.Load(dir);
            var template = Template.FromModelFolder(dir);
            return new LocalRewardModel(model, tokenizer, template, maxLength, batchSize);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The token ids the model reads for (prompt, response), before truncation.</summary>
    public int[] Encode(string prompt, string response) => _template is not null
        ? [.. _tokenizer.EncodeToIds(_template.Render([("user", prompt), ("assistant", response)], addGenerationPrompt: false), addSpecialTokens: false)]
        : [.. _tokenizer.EncodeToIds(prompt + response, addSpecialTokens: true)];

    public Task<double> RewardAsync(string prompt, string response, CancellationToken ct = default)
        => Task.FromResult(Rewards([(prompt, response)], ct)[0]);

    /// <summary>Rewards for many pairs, batched by similar length (right padding with pad_token_id; one row per batch without one).</summary>
    public double[] Rewards(IReadOnlyList<(string Prompt, string Response)> items, CancellationToken ct = default)
    {
        var seqs = items.Select(it => Truncate(Encode(it.Prompt, it.Response))).ToArray();
        var rewards = new double[seqs.Length];
        int? pad = _model.Config.PadTokenId;
        int batch = pad is null ? 1 : BatchSize;
        var order = Enumerable.Range(0, seqs.Length).OrderBy(i => seqs[i].Length).ToArray();
        lock (_gate)
        {
            for (int start = 0; start < order.Length; start += batch)
            {
                ct.ThrowIfCancellationRequested();
                var rows = order.Skip(start).Take(batch).ToArray();
                int t = rows.Max(i => seqs[i].Length);
                var ids = new int[rows.Length * t];
                using var tape = new Tape { NoGrad = true, InferenceWeights = true };
                var keyMask = tape.New([rows.Length * t], zero: true);   // arena memory is not cleared otherwise
                var mask = keyMask.Span;
                for (int r = 0; r < rows.Length; r++)
                {
                    var s = seqs[rows[r]];
                    s.CopyTo(ids, r * t);
                    for (int j = s.Length; j < t; j++) { ids[r * t + j] = pad!.Value; mask[r * t + j] = float.NegativeInfinity; }
                }
                var scores = SequenceClassification.Pool(tape, _model, ids, rows.Length, keyMask).Span;
                for (int r = 0; r < rows.Length; r++) rewards[rows[r]] = scores[r];
            }
        }
        return rewards;
    }

    int[] Truncate(int[] ids)
    {
        if (ids.Length == 0) throw new ArgumentException("the prompt and response encode to no tokens");
        foreach (int id in ids)
            if ((uint)id >= (uint)_model.Config.VocabSize)
                throw new InvalidOperationException($"the tokenizer gave token id {id}, outside the reward model's vocabulary ({_model.Config.VocabSize}): tokenizer and model do not match");
        if (ids.Length <= MaxLength) return ids;
        Interlocked.Increment(ref _truncated);
        return ids[^MaxLength..];
    }

    public void Dispose() => _model.Dispose();
}

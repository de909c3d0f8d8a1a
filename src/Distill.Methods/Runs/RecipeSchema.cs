namespace Distill.Methods.Runs;

/// <summary>The kinds of value a recipe key holds.</summary>
public enum RecipeKind { String, Int, Float, Bool, Choice, List }

/// <summary>One recipe key: its dotted path, kind, default (null = required or "none") and help.</summary>
public sealed record RecipeKey(string Path, RecipeKind Kind, object? Default, string Help, string[]? Choices = null, bool Required = false);

/// <summary>
/// Every key a recipe may hold (docs/methods.md documents them). A key not listed here is an error,
/// never ignored. The resolved recipe written into the run directory lists them all, in this order.
/// API keys are not recipe keys: a recipe names the environment variable that holds one.
/// </summary>
public static class RecipeSchema
{
    public static readonly string[] Methods = [.. RecipeMethods.All.Select(m => m.Name)];

    public static IReadOnlyList<RecipeKey> Keys { get; } =
    [
        new("name", RecipeKind.String, "run", "run name (default run directory: runs/NAME)"),
        new("method", RecipeKind.Choice, null, "distillation method", Methods, Required: true),
        new("seed", RecipeKind.Int, 0L, "seed of every random choice of the run"),

        new("data.source", RecipeKind.String, "builtin", "'builtin' (the built-in code task) or a .jsonl/.parquet file with TRL columns (relative to the recipe)"),
        new("data.view", RecipeKind.Choice, "gen", "built-in task view: gen (docstring → code) or sum (code → description)", ["gen", "sum"]),
        new("data.shard", RecipeKind.Choice, "train", "built-in task shard", ["train", "distill", "test"]),
        new("data.n", RecipeKind.Int, 200L, "built-in task: number of problems (a file: at most this many records; 0 = all)"),
        new("data.seed", RecipeKind.Int, 0L, "built-in task: which problems are drawn"),
        new("data.max_difficulty", RecipeKind.Int, 3L, "built-in task: largest number of steps (1–3)"),
        new("data.prompt_template", RecipeKind.Choice, "none", "wrap each prompt in a DPO-KD Table 1 template: none, dpo-kd-summary, dpo-kd-generation", ["none", "dpo-kd-summary", "dpo-kd-generation"]),

        new("student.model", RecipeKind.String, "", "student: a Hugging Face model folder (relative to the recipe, or the working directory); or student.init"),
        new("student.init", RecipeKind.String, "", "student made by the run: a `distill init` preset (e.g. tiny) or a config.json, randomly initialized into models/student"),
        new("student.adapter.r", RecipeKind.Int, 8L, "LoRA rank (0 = train all weights)"),
        new("student.adapter.alpha", RecipeKind.Float, 16.0, "LoRA alpha"),
        new("student.adapter.dropout", RecipeKind.Float, 0.0, "LoRA dropout"),
        new("student.adapter.target_modules", RecipeKind.List, new List<string> { "q_proj", "k_proj", "v_proj", "o_proj" }, "modules LoRA wraps"),
        new("student.adapter.qlora", RecipeKind.Bool, false, "QLoRA: the base quantized to NF4 with double quantization under the adapter (DPO-KD §4.1.3)"),
        new("student.inference_weights", RecipeKind.Choice, "auto", "weights the student samples with inside the pipelines (online DPO-KD, PLaD, PERsD, GKD): auto (f32packed with a LoRA adapter on a float base, else f32), f32, f32packed (the frozen base packed once for the GEMM: same f32 arithmetic, one more copy of the base in memory), q8 (8-bit q8_0 copies of the frozen base, the adapter in float; needs student.adapter.r > 0), q8row (8-bit, one scale per row) or bf16", ["auto", "f32", "f32packed", "q8", "q8row", "bf16"]),

        new("teacher.model", RecipeKind.String, "", "teacher: a model folder, openai:MODEL[@BASE_URL] or anthropic:MODEL (seqkd, token-kd)"),
        new("teacher.init", RecipeKind.String, "", "teacher made by the run: a `distill init` preset or a config.json, randomly initialized into models/teacher (a local folder)"),
        new("teacher.init_steps", RecipeKind.Int, 0L, "teacher.init: SFT steps (every weight) on the run's data before it teaches (0 = a random teacher)"),
        new("teacher.init_lr", RecipeKind.Float, 3e-3, "teacher.init: learning rate of that fine-tuning (cosine schedule)"),
        new("teacher.init_data", RecipeKind.String, "", "teacher.init: a jsonl of prompt/completion records the teacher's fine-tuning learns besides the run's data, the student never (the demo: PERsD repair conversations); relative to the recipe; batched by length"),
        new("teacher.init_max_seq_len", RecipeKind.Int, 0L, "teacher.init: longest prompt + completion of that fine-tuning, in tokens (0 = train.max_seq_len)"),
        new("teacher.api_key_env", RecipeKind.String, "", "name of the environment variable holding the teacher's API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)"),
        new("teacher.system_prompt", RecipeKind.String, "", "system message sent before each prompt (empty = none)"),
        new("teacher.max_tokens", RecipeKind.Int, 256L, "largest answer, in tokens"),
        new("teacher.temperature", RecipeKind.Float, 0.0, "sampling temperature of the teacher"),
        new("teacher.concurrency", RecipeKind.Int, 4L, "teacher requests in flight at once"),
        new("teacher.max_retries", RecipeKind.Int, 3L, "retries of a failed request (429, 5xx, time-out, dropped connection)"),
        new("teacher.cache", RecipeKind.String, "", "the response cache of the teacher's answers (sqlite; relative to the recipe; empty = the run's cache.sqlite): runs that share one ask the teacher once per request (the demo's methods)"),
        new("teacher.timeout_s", RecipeKind.Float, 120.0, "time limit of one attempt, seconds"),
        new("teacher.price_input", RecipeKind.Float, null, "dollars per million input tokens (default: Distill's price table; unknown model = cost not reported)"),
        new("teacher.price_output", RecipeKind.Float, null, "dollars per million output tokens"),

        new("init.tokenizer", RecipeKind.String, "bpe", "tokenizer of the models the run makes: bpe (a byte-level BPE trained on the run's prompts) or a tokenizer.json/folder (relative to the recipe)"),
        new("init.bpe_vocab", RecipeKind.Int, 512L, "init.tokenizer = bpe: vocabulary size"),

        new("train.epochs", RecipeKind.Int, 1L, "passes over the data"),
        new("train.max_steps", RecipeKind.Int, 0L, "stop after this many optimizer steps (0 = by epochs)"),
        new("train.batch_size", RecipeKind.Int, 4L, "sequences per micro-batch"),
        new("train.grad_accum", RecipeKind.Int, 1L, "micro-batches per optimizer step"),
        new("train.lr", RecipeKind.Float, 2e-4, "peak learning rate (AdamW)"),
        new("train.lr_schedule", RecipeKind.Choice, "linear", "learning-rate schedule after warm-up", ["constant", "linear", "cosine"]),
        new("train.warmup_steps", RecipeKind.Int, 0L, "linear warm-up steps"),
        new("train.weight_decay", RecipeKind.Float, 0.0, "AdamW weight decay"),
        new("train.max_grad_norm", RecipeKind.Float, 1.0, "gradient clipping (0 = off)"),
        new("train.max_seq_len", RecipeKind.Int, 512L, "longest prompt + completion, in tokens"),
        new("train.append_eos", RecipeKind.Bool, false, "append the model's end-of-sequence token to every text completion, as TRL's SFTTrainer does (a model trained from scratch otherwise never learns to stop)"),
        new("train.save_every", RecipeKind.Int, 100L, "checkpoint every N steps"),
        new("train.log_every", RecipeKind.Int, 10L, "console progress line every N steps (metrics.jsonl has every step)"),
        new("train.packed_weights_mb", RecipeKind.Int, -1L, "MB the frozen weights may take packed for the GEMM during training (the same results, faster steps; 2× the frozen weights for the student, 1× for a KD teacher): -1 = a quarter of the machine's memory, 0 = none"),
        new("train.kd.divergence", RecipeKind.Choice, "forward_kl", "token-level KD divergence", ["forward_kl", "reverse_kl", "js", "tvd", "skew_kl", "skew_reverse_kl"]),
        new("train.kd.temperature", RecipeKind.Float, 1.0, "KD temperature"),
        new("train.kd.beta", RecipeKind.Float, 0.5, "β of JS(β), in (0, 1): the mixture βp + (1−β)q"),
        new("train.kd.skew_alpha", RecipeKind.Float, 0.1, "α of the skew KLs, in (0, 1) (DistiLLM's default 0.1)"),
        new("train.kd.lambda", RecipeKind.Float, 0.0, "GKD on-policy fraction λ: share of micro-batches the student samples and the teacher scores"),
        new("train.kd.max_new_tokens", RecipeKind.Int, 128L, "GKD: longest student sample, in tokens"),

        // evaluation (the eval stage; docs/evaluation.md "In a recipe")
        new("eval.enabled", RecipeKind.Bool, false, "after training, the eval stage: trained vs base student (and the teacher) on held-out problems → eval/metrics.json"),
        new("eval.source", RecipeKind.String, "builtin:test", "held-out problems: builtin:SHARD (the built-in task in data.view) or a JSONL/Parquet file (prompt, completion = reference; task_id, entry_point, test for code)"),
        new("eval.n", RecipeKind.Int, 50L, "problems evaluated (0 = a whole file; builtin: 100)"),
        new("eval.seed", RecipeKind.Int, 0L, "built-in problems drawn, and the students' sampling seed"),
        new("eval.samples", RecipeKind.Int, 1L, "answers per problem (pass@k for k ≤ eval.samples)"),
        new("eval.temperature", RecipeKind.Float, 0.0, "students' sampling temperature (0 = greedy; eval.samples > 1 needs > 0)"),
        new("eval.max_new_tokens", RecipeKind.Int, 256L, "longest student answer, in tokens"),
        new("eval.teacher", RecipeKind.Bool, true, "also answer with the teacher (its scores; teacher-vs-student win rate)"),
        new("eval.judge", RecipeKind.String, "rule", "pairwise judge: rule (no model: agreement with the reference, labelled so), none, or a model (openai:MODEL[@URL], anthropic:MODEL, a folder)"),
        new("eval.judge_prompt", RecipeKind.String, "dpo-kd", "judge prompt: dpo-kd (DPO-KD Appendix B), mt-bench-pair-v2, or a JSON file (FastChat keys)"),
        new("eval.reward_model", RecipeKind.String, "", "a reward-model folder (LlamaForSequenceClassification) for PLaD's win rates by reward (empty = none)"),
        new("eval.sandbox_timeout_s", RecipeKind.Float, 5.0, "wall-clock limit of one sandboxed test run, seconds"),

        // preference distillation (dpo-kd-offline, dpo-kd-online, plad; docs/methods.md "DPO-KD", "PLaD")
        new("sampling.n", RecipeKind.Int, 1L, "student answers sampled per prompt (one pair each)"),
        new("sampling.temperature", RecipeKind.Float, 1.0, "student sampling temperature"),
        new("sampling.top_p", RecipeKind.Float, 1.0, "student nucleus sampling top-p (1 = off)"),
        new("sampling.top_k", RecipeKind.Int, 0L, "student top-k (0 = off)"),
        new("sampling.max_new_tokens", RecipeKind.Int, 256L, "longest student answer, in tokens"),
        new("preference.loss", RecipeKind.Choice, "auto", "auto (dpo for DPO-KD, plad-rank for PLaD), dpo, ipo, hinge, plad-rank, plad-margin", ["auto", "dpo", "ipo", "hinge", "plad-rank", "plad-margin"]),
        new("preference.beta", RecipeKind.Float, 0.1, "β of DPO/IPO/hinge (TRL's default 0.1)"),
        new("preference.label_smoothing", RecipeKind.Float, 0.0, "DPO label smoothing ε (cDPO), in [0, 0.5)"),
        new("preference.delta", RecipeKind.Float, 1.0, "PLaD margin δ (Eq. 4; Eq. 5 scales the score gap by it)"),
        new("preference.temperature", RecipeKind.Float, 1.0, "PLaD: τ of softmax(z/τ) in the sequence likelihood (§3.1 Eq. 1)"),
        new("preference.length_normalization", RecipeKind.Choice, "auto", "auto (on for IPO and PLaD, off for DPO/hinge), on, off (PLaD's ablation)", ["auto", "on", "off"]),
        new("preference.sft_weight", RecipeKind.Float, 0.0, "weight of an NLL term on the chosen answer (0 = none)"),
        new("preference.share_prompt", RecipeKind.Bool, true, "run each pair as one row (prompt, chosen, rejected), the prompt once (same losses and gradients); false: two rows, the prompt twice (TRL's concatenated_forward)"),
        new("preference.iterations", RecipeKind.Int, 3L, "dpo-kd-online: iterations (each resamples the rejected side, then trains train.epochs epochs)"),
        new("preference.drop_truncated", RecipeKind.Bool, true, "drop pairs with a side cut at its token budget (counted in pairs.stats.json)"),
        new("plad.distill_fraction", RecipeKind.Float, 1.0, "PLaD §5.5: share of the distillation half used"),
        new("plad.relabel_fraction", RecipeKind.Float, 0.0, "PLaD §5.3: share of pairs ordered by plad.scorer instead of teacher ≻ student"),
        new("plad.scorer", RecipeKind.Choice, "none", "PLaD scoring function s: none, rouge1, rouge2, rougeL (against the reference), reward (plad.reward_model)", ["none", "rouge1", "rouge2", "rougeL", "reward"]),
        new("plad.reward_model", RecipeKind.String, "", "plad.scorer = reward: a reward-model folder (LlamaForSequenceClassification)"),
        new("plad.sft_epochs", RecipeKind.Int, 1L, "PLaD §5.1: epochs of SFT of teacher and student on the labelled half (0 = skip)"),
        // PERsD (method: persd; docs/methods-persd.md)
        new("persd.train_source", RecipeKind.String, "builtin:train", "PERsD training tasks: builtin:train, builtin:distill, mbpp:train or mbpp-file:PATH:train (data.n, data.seed, data.max_difficulty apply)"),
        new("persd.eval_source", RecipeKind.String, "builtin:test", "PERsD scoring tasks: builtin:test, humaneval, humanevalplus, mbpp:test, humaneval-file:PATH or mbpp-file:PATH:test"),
        new("persd.eval_tasks", RecipeKind.Int, 0L, "scoring tasks used (0 = all; builtin:test: 0 = its 500)"),
        new("persd.samples", RecipeKind.Int, 1L, "student attempts per training task"),
        new("persd.temperature", RecipeKind.Float, 0.3, "student sampling temperature of the attempts (the authors' 0.3)"),
        new("persd.max_new_tokens", RecipeKind.Int, 256L, "longest student answer, in tokens"),
        new("persd.rounds", RecipeKind.Int, 1L, "teacher rounds per failing attempt (round r+1 repairs round r's failing refinement)"),
        new("persd.gold", RecipeKind.Choice, "reference", "the teacher's CORRECT CODE turn: the task's reference, or the teacher's own answer", ["reference", "teacher"]),
        new("persd.prompt_format", RecipeKind.Choice, "authors", "the student's prompt: the authors' (\"\"\" Write a python function … \"\"\" + header; a pretrained or API student) or the dataset's own (signature + docstring, what a student trained on the dataset knows; built-in task and HumanEval only). The teacher's conversation is the authors' either way", ["authors", "dataset"]),
        new("persd.teacher_mode", RecipeKind.Choice, "repair", "what the teacher is asked about a failed attempt: repair (the authors' conversation: the gold program, the student's code and its feedback, RECTIFIED CODE) or solve (the failed task alone, in the student's prompt format; no attempt, no feedback, no gold: for a teacher that cannot read the repair conversation, like distill demo's). Either way only answers that pass the tests are kept", ["repair", "solve"]),
        new("persd.variant", RecipeKind.Choice, "combined", "training records: plain (task → refinement), refine (task + wrong code + feedback → refinement), combined (both)", ["plain", "refine", "combined"]),
        new("persd.train_on", RecipeKind.Choice, "sft", "train stage: sft on the variant's records, or a preference loss on the refinement ≻ attempt pairs", ["sft", .. Training.TrainingSetup.PreferenceMethods]),
        new("persd.beta", RecipeKind.Float, 0.1, "β of the preference loss (persd.train_on other than sft)"),
        new("persd.seqkd_baseline", RecipeKind.Bool, false, "also collect the SeqKD baseline (teacher answers for every training task) and fill both sides of eval/persd-cost.json"),
        new("persd.repair_rounds", RecipeKind.Int, 2L, "multi-step inference: repairs after a failed visible test (the authors' 2)"),
        new("persd.eval_samples", RecipeKind.Int, 1L, "student samples per scoring task"),
        new("persd.eval_temperature", RecipeKind.Float, 0.2, "student sampling temperature at scoring (the authors' pass@1 setting)"),
        new("persd.sandbox_timeout_s", RecipeKind.Float, 5.0, "wall-clock limit of one sandboxed test run, seconds"),
        new("persd.sandbox_slots", RecipeKind.Int, 2L, "sandboxed runs at once"),
    ];

    public static IReadOnlyDictionary<string, RecipeKey> ByPath { get; } = Keys.ToDictionary(k => k.Path);

    /// <summary>True when <paramref name="path"/> is a section (a prefix of some keys), e.g. "train" or "train.kd".</summary>
    public static bool IsSection(string path) => Keys.Any(k => k.Path.StartsWith(path + ".", StringComparison.Ordinal));

    /// <summary>The known key closest to an unknown one (for "did you mean").</summary>
    public static string? Closest(string path)
    {
        var best = Keys.Select(k => (k.Path, D: Distance(k.Path, path))).MinBy(x => x.D);
        return best.D <= Math.Max(2, path.Length / 4) ? best.Path : null;
    }

    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}

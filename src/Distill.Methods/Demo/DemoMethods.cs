using System.Globalization;
using System.Text;

namespace Distill.Methods.Demo;

/// <summary>One distilled student of the demo: its name in the results, its family, and the recipe that makes it.</summary>
public sealed record DemoMethod(string Name, string Family, string RecipeMethod, string Extra, bool UsesApiTeacher, bool UsesLocalTeacher);

/// <summary>
/// The methods the demo compares (issue 16 §1), each a recipe run through <see cref="Runs.RunPipeline"/> exactly as
/// `distill run` runs it: the yaml is written to DIR/recipes/NAME.yaml and kept, so any run can be repeated by hand.
/// </summary>
public static class DemoMethods
{
    public static IReadOnlyList<DemoMethod> All { get; } =
    [
        new("sft", "baseline", "sft", "", false, false),
        new("seqkd", "baseline", "seqkd", "", true, false),
        new("kd-fkl", "token-kd", "token-kd", "train:\n  kd:\n    divergence: forward_kl\n", false, true),
        new("kd-rkl", "token-kd", "token-kd", "train:\n  kd:\n    divergence: reverse_kl\n", false, true),
        new("dpo-kd-offline", "preference", "dpo-kd-offline", "preference:\n  loss: dpo\n  drop_truncated: false\n", true, false),
        new("dpo-kd-online", "preference", "dpo-kd-online", "preference:\n  loss: dpo\n  drop_truncated: false\n  iterations: {iterations}\n", true, false),
        new("plad-rank", "preference", "plad", "preference:\n  loss: plad-rank\n  delta: 1.0\n  drop_truncated: false\nplad:\n  sft_epochs: 0\n  distill_fraction: {fraction}\n", true, false),
        new("plad-margin", "preference", "plad", "preference:\n  loss: plad-margin\n  delta: 1.0\n  drop_truncated: false\nplad:\n  sft_epochs: 0\n  scorer: rougeL\n", true, false),
        new("persd-plain", "persd", "persd", "persd:\n  variant: plain\n", true, false),
        new("persd-refine", "persd", "persd", "persd:\n  variant: refine\n", true, false),
    ];

    /// <summary>The recipe yaml of a method run (fraction: plad.distill_fraction of a PLaD run, 1 otherwise; settings: the
    /// method's lr, steps, β and sft_weight, by default the preset's for this method).</summary>
    public static string Recipe(DemoMethod m, DemoPreset p, int seed, DemoPaths paths, string apiTeacher, double fraction = 1.0, string? name = null,
        DemoMethodSettings? settings = null)
    {
        var inv = CultureInfo.InvariantCulture;
        var s = settings ?? p.For(m.Name);
        var y = new StringBuilder();
        y.Append($"# distill demo ({p.Name}, seed {seed}): {m.Name}, made by DemoPipeline; `distill run` runs it the same way.\n");
        y.Append($"name: demo-{name ?? m.Name}\nmethod: {m.RecipeMethod}\nseed: {seed}\n");
        if (m.RecipeMethod == "persd")
            y.Append($"data:\n  source: builtin\n  view: gen\n  shard: distill\n  n: {p.DistillProblems}\n  seed: {seed}\n  max_difficulty: {p.MaxDifficulty}\n");
        else
            y.Append($"data:\n  source: {Quote(paths.DistillData)}\n  n: 0\n");
        y.Append($"student:\n  model: {Quote(paths.StudentStart)}\n  adapter:\n    r: {p.LoraR}\n    alpha: {2 * p.LoraR}\n    dropout: 0.0\n");
        if (m.UsesApiTeacher || m.UsesLocalTeacher)
        {
            y.Append($"teacher:\n  model: {Quote(m.UsesLocalTeacher ? paths.Teacher : apiTeacher)}\n");
            if (m.UsesApiTeacher)
                // a notional price (USD per million tokens, an API model of the small class) so the cost column is exercised
                // one response cache for the demo: SeqKD, DPO-KD and PLaD send the same requests, so the teacher answers each distill input once
                y.Append($"  max_tokens: {(m.RecipeMethod == "persd" ? 2 * p.MaxNewTokens : p.MaxNewTokens)}\n  temperature: 0.0\n  concurrency: 2\n  max_retries: 1\n" +
                         $"  cache: {Quote(paths.TeacherCache)}\n" +
                         $"  price_input: {DemoTeacherServer.PriceInput.ToString(inv)}\n  price_output: {DemoTeacherServer.PriceOutput.ToString(inv)}\n");
        }
        y.Append($"sampling:\n  n: 1\n  temperature: 1.0\n  max_new_tokens: {p.MaxNewTokens}\n");
        if (m.RecipeMethod == "persd")
            // the student was trained on the gen view's prompt (signature + docstring), not the authors' wrapper. The teacher:
            // solve — the failed task's gen-view prompt alone, which it was trained on (it cannot read the repair conversation);
            // repair — the authors' conversation with the task's reference as its CORRECT CODE (persd.gold: reference, the authors' default)
            y.Append($"persd:\n  train_source: builtin:distill\n  eval_source: builtin:test\n  eval_tasks: 1\n  max_new_tokens: {p.MaxNewTokens}\n" +
                     $"  repair_rounds: 1\n  sandbox_timeout_s: 5\n  prompt_format: dataset\n  teacher_mode: {p.PersdTeacherMode}\n" +
                     (p.PersdTeacherMode == "repair" ? "  gold: reference\n" : ""));
        y.Append($"train:\n  epochs: 1\n  max_steps: {s.Steps}\n  batch_size: {p.BatchSize}\n  lr: {s.Lr.ToString("R", inv)}\n  lr_schedule: constant\n" +
                 $"  max_seq_len: {p.MaxSeqLen}\n  save_every: {Math.Max(2, s.Steps / 2)}\n  log_every: {Math.Max(1, s.Steps / 2)}\n  append_eos: {Bool(p.AppendEos)}\n");
        var extra = m.Extra.Replace("{iterations}", p.DpoOnlineIterations.ToString(inv)).Replace("{fraction}", fraction.ToString("R", inv));
        if (m.Family == "preference")
        {
            // β (DPO's; PLaD's losses have none) and the NLL term on the chosen answer, right after the loss line
            var pref = (extra.Contains("loss: dpo\n", StringComparison.Ordinal) ? $"  beta: {(s.Beta ?? 0.1).ToString("R", inv)}\n" : "") +
                       (s.SftWeight != 0 ? $"  sft_weight: {s.SftWeight.ToString("R", inv)}\n" : "");
            int at = extra.IndexOf('\n', extra.IndexOf("  loss: ", StringComparison.Ordinal)) + 1;
            extra = extra.Insert(at, pref);
        }
        // merge the method's extra "train:" block into the one above (YAML keys must not repeat)
        if (extra.StartsWith("train:\n", StringComparison.Ordinal)) y.Append(extra["train:\n".Length..]);
        else if (m.RecipeMethod == "persd") y.Replace("persd:\n", extra, 0, y.Length);
        else y.Append(extra);
        return y.ToString();
    }

    /// <summary>The recipe that makes the teacher and the student start (and the BPE) on the train shard: SFT of both, every weight.</summary>
    public static string BaseRecipe(DemoPreset p, int seed, DemoPaths paths)
    {
        var inv = CultureInfo.InvariantCulture;
        return $"# distill demo ({p.Name}, seed {seed}): the tokenizer, teacher and student start, trained from scratch on the train shard (PLaD §4.1).\n" +
               $"name: demo-base\nmethod: sft\nseed: {seed}\n" +
               $"data:\n  source: {Quote(paths.TrainData)}\n  n: 0\n" +
               $"student:\n  init: {Quote(paths.StudentConfig)}\n  adapter:\n    r: 0\n" +
               $"teacher:\n  init: {Quote(paths.TeacherConfig)}\n  init_steps: {p.TeacherSteps}\n  init_lr: {p.TeacherLr.ToString("R", inv)}\n" +
               // the teacher alone also learns PERsD's repair conversations (DemoRepairData), as an API teacher knows how to repair
               (p.TeacherRepairProblems > 0 ? $"  init_data: {Quote(paths.TeacherRepairData)}\n  init_max_seq_len: {p.TeacherMaxSeqLen}\n" : "") +
               $"init:\n  tokenizer: bpe\n  bpe_vocab: {p.BpeVocab}\n" +
               $"train:\n  max_steps: {p.StudentSteps}\n  batch_size: {p.BatchSize}\n  lr: {p.StudentLr.ToString("R", inv)}\n  lr_schedule: cosine\n" +
               $"  max_seq_len: {p.MaxSeqLen}\n  save_every: {Math.Max(10, p.StudentSteps / 2)}\n  log_every: {Math.Max(1, p.StudentSteps / 4)}\n" +
               // TRL's SFTTrainer appends EOS to every completion; without it a model made from scratch never stops and its
               // code ends in half-written lines (a SyntaxError after a correct return)
               $"  append_eos: {Bool(p.AppendEos)}\n";
    }

    static string Bool(bool b) => b ? "true" : "false";

    static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}

/// <summary>The demo's folder layout under --out.</summary>
public sealed record DemoPaths(string Root)
{
    public string Results => Path.Combine(Root, "results.json");
    public string Recipes => Path.Combine(Root, "recipes");
    public string Runs => Path.Combine(Root, "runs");
    public string DataDir => Path.Combine(Root, "data");
    public string TrainData => Path.Combine(DataDir, "train.jsonl");
    /// <summary>The teacher's repair conversations on the train shard (<see cref="DemoRepairData"/>).</summary>
    public string TeacherRepairData => Path.Combine(DataDir, "teacher-repair.jsonl");
    /// <summary>The methods' training data: the distill shard, both views (`distill demo --tune` points it at the distill shard less its validation slice).</summary>
    public string DistillData => DistillDataOverride ?? Path.Combine(DataDir, "distill.jsonl");
    public string? DistillDataOverride { get; init; }
    public string TestGen => Path.Combine(DataDir, "test-gen.jsonl");
    public string TestSum => Path.Combine(DataDir, "test-sum.jsonl");
    public string TeacherConfig => Path.Combine(DataDir, "teacher-config.json");
    public string StudentConfig => Path.Combine(DataDir, "student-config.json");
    public string BaseRun => Path.Combine(Runs, "base");
    public string Teacher => Path.Combine(BaseRun, "models", "teacher");
    public string StudentStart => Path.Combine(BaseRun, "model");
    public string RewardModel => Path.Combine(Root, "reward-model");
    public string Eval => Path.Combine(Root, "eval");
    public string Server => Path.Combine(Root, "server.json");
    /// <summary>The served teacher's answers, shared by every method run of the demo (teacher.cache).</summary>
    public string TeacherCache => Path.Combine(Root, "teacher-cache.sqlite");
    public string Run(string name) => Path.Combine(Runs, name);
}

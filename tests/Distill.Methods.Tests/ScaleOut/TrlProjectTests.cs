using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Data.Datasets;
using Distill.Data.Jsonl;
using Distill.Methods.Runs;
using Distill.Methods.ScaleOut;

namespace Distill.Methods.Tests.ScaleOut;

/// <summary>
/// `distill export --format trl`: for every method, the generated train.py compiles (/usr/bin/python3 -m py_compile;
/// this machine has no trl, so nothing is imported), and Python's own parser (trl_calls.py, ast) finds that every
/// keyword argument passed to TRL's, PEFT's and transformers' classes is one TRL 0.24.0 documents (the lists below,
/// from trl v0.24.0's trl/trainer/{dpo,sft,gkd}_config.py and the trainers' __init__), that the methods the subclasses
/// override exist in TRL 0.24.0, and that the recipe's values reach the configs (β, loss_type, λ, the GKD β mapping,
/// LoRA, NF4). The datasets have TRL's documented columns, and exporting then importing gives back every source row
/// with its provenance columns.
/// What only a GPU machine with trl installed can check — that the scripts train — is listed in docs/scale-out.md.
/// </summary>
public class TrlProjectTests
{
    // transformers' TrainingArguments fields the scripts set (transformers >= 4.56.1, training_args.py; trl 0.24.0's floor)
    static readonly string[] TrainingArguments =
    [
        "output_dir", "num_train_epochs", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
        "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "save_steps",
        "logging_steps", "seed", "bf16", "report_to", "gradient_checkpointing",
    ];

    // trl v0.24.0 trl/trainer/dpo_config.py, the DPOConfig dataclass fields
    static readonly string[] DpoConfigFields =
    [
        "learning_rate", "logging_steps", "gradient_checkpointing", "bf16", "model_init_kwargs", "ref_model_init_kwargs",
        "model_adapter_name", "ref_adapter_name", "force_use_ref_model", "disable_dropout", "use_logits_to_keep",
        "dataset_num_proc", "pad_token", "label_pad_token_id", "max_prompt_length", "max_completion_length", "max_length",
        "truncation_mode", "padding_free", "precompute_ref_log_probs", "precompute_ref_batch_size", "tools", "loss_type",
        "use_liger_loss", "base_model_attribute_name", "beta", "f_divergence_type", "f_alpha_divergence_coef",
        "reference_free", "label_smoothing", "use_weighting", "rpo_alpha", "ld_alpha", "discopop_tau", "loss_weights",
        "sync_ref_model", "ref_model_mixup_alpha", "ref_model_sync_steps", "generate_during_eval", "padding_value",
    ];

    // trl v0.24.0 trl/trainer/sft_config.py
    static readonly string[] SftConfigFields =
    [
        "learning_rate", "logging_steps", "gradient_checkpointing", "bf16", "model_init_kwargs", "chat_template_path",
        "dataset_text_field", "dataset_kwargs", "dataset_num_proc", "eos_token", "pad_token", "max_length", "packing",
        "packing_strategy", "padding_free", "pad_to_multiple_of", "eval_packing", "completion_only_loss",
        "assistant_only_loss", "loss_type", "activation_offloading",
    ];

    // trl v0.24.0 trl/trainer/gkd_config.py: GKDConfig(SFTConfig) adds these
    static readonly string[] GkdConfigFields =
        [.. SftConfigFields, "temperature", "lmbda", "beta", "max_new_tokens", "teacher_model_name_or_path", "teacher_model_init_kwargs", "disable_dropout", "seq_kd"];

    static readonly Dictionary<string, string[]> Documented = new()
    {
        ["DPOConfig"] = [.. TrainingArguments, .. DpoConfigFields],
        ["SFTConfig"] = [.. TrainingArguments, .. SftConfigFields],
        ["GKDConfig"] = [.. TrainingArguments, .. GkdConfigFields],
        // trl v0.24.0 DPOTrainer.__init__, SFTTrainer.__init__, GKDTrainer.__init__
        ["DPOTrainer"] = ["model", "ref_model", "args", "data_collator", "train_dataset", "eval_dataset", "processing_class", "compute_metrics",
            "callbacks", "optimizers", "optimizer_cls_and_kwargs", "preprocess_logits_for_metrics", "peft_config"],
        ["SFTTrainer"] = ["model", "args", "data_collator", "train_dataset", "eval_dataset", "processing_class", "compute_loss_func", "compute_metrics",
            "callbacks", "optimizers", "optimizer_cls_and_kwargs", "preprocess_logits_for_metrics", "peft_config", "formatting_func"],
        ["GKDTrainer"] = ["model", "teacher_model", "args", "data_collator", "train_dataset", "eval_dataset", "processing_class", "compute_metrics",
            "callbacks", "optimizers", "preprocess_logits_for_metrics", "peft_config", "formatting_func"],
        // trl v0.24.0 DataCollatorForPreference (trl/trainer/dpo_trainer.py)
        ["DataCollatorForPreference"] = ["pad_token_id", "return_tensors"],
        // peft LoraConfig; transformers BitsAndBytesConfig
        ["LoraConfig"] = ["r", "lora_alpha", "lora_dropout", "target_modules", "bias", "task_type", "use_rslora", "fan_in_fan_out", "modules_to_save", "use_dora"],
        ["BitsAndBytesConfig"] = ["load_in_8bit", "load_in_4bit", "llm_int8_threshold", "bnb_4bit_compute_dtype", "bnb_4bit_quant_type",
            "bnb_4bit_use_double_quant", "bnb_4bit_quant_storage"],
    };

    // Methods a subclass may override, as trl v0.24.0 defines them
    static readonly Dictionary<string, string[]> Overridable = new()
    {
        ["DPOTrainer"] = ["dpo_loss", "compute_ref_log_probs", "get_batch_loss_metrics", "_set_signature_columns_if_needed"],
        ["GKDTrainer"] = ["generalized_jsd_loss"],
        ["DataCollatorForPreference"] = ["torch_call"],
    };

    // what `from trl import ...` offers in v0.24.0 (trl/__init__.py) among the names the scripts use
    static readonly string[] TrlExports = ["DPOConfig", "DPOTrainer", "SFTConfig", "SFTTrainer", "GKDConfig", "GKDTrainer"];

    static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distill.slnx"))) return d.FullName;
        throw new InvalidOperationException("repo root not found");
    }

    static (int Exit, string Out, string Err) Python(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var outTask = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, outTask.Result, err);
    }

    /// <summary>What the ast reading of train.py says: calls, classes, imports.</summary>
    static JsonObject Parse(string trainPy)
    {
        var (exit, o, err) = Python("-B", Path.Combine(Root(), "tests", "Distill.Methods.Tests", "ScaleOut", "trl_calls.py"), trainPy);
        Assert.True(exit == 0, err);
        return JsonNode.Parse(o)!.AsObject();
    }

    /// <summary>Every problem with the TRL API use in a parsed train.py (empty = all documented).</summary>
    internal static List<string> ApiProblems(JsonObject parsed)
    {
        var problems = new List<string>();
        var classes = parsed["classes"]!.AsObject();
        string BaseOf(string name) => classes[name] is JsonObject c ? BaseOf((string)c["bases"]![0]!) : name;
        foreach (var call in parsed["calls"]!.AsArray())
        {
            var callee = BaseOf((string)call!["callee"]!);
            if (!Documented.TryGetValue(callee, out var allowed)) continue;
            foreach (var k in call["keywords"]!.AsArray())
                if (k is null || !allowed.Contains((string)k!))
                    problems.Add($"line {call["line"]}: {call["callee"]}({k?.ToString() ?? "**"}=...) is not a documented {callee} argument");
        }
        foreach (var (name, c) in classes)
        {
            var b = BaseOf(name);
            if (!Overridable.TryGetValue(b, out var methods)) continue;
            foreach (var m in c!["methods"]!.AsArray())
                if (!methods.Contains((string)m!)) problems.Add($"class {name} overrides {m}, which {b} (trl 0.24.0) does not define");
        }
        if (parsed["imports"]!["trl"] is JsonArray trl)
            foreach (var n in trl) if (!TrlExports.Contains((string)n!)) problems.Add($"'from trl import {n}': not a trl 0.24.0 export");
        return problems;
    }

    static JsonObject Call(JsonObject parsed, string callee, int nth = 0)
        => parsed["calls"]!.AsArray().Where(c => (string)c!["callee"]! == callee).Skip(nth).FirstOrDefault()?.AsObject()
            ?? throw new Xunit.Sdk.XunitException($"no call to {callee}");

    static JsonNode? Value(JsonObject call, string kw) => call["values"]![kw];

    static string Temp() => Directory.CreateTempSubdirectory("trl-export").FullName;

    static Recipe R(string yaml, params string[] sets) => Recipe.Parse(yaml, "r.yaml", sets);

    const string Student = "student:\n  model: /models/student\n  adapter:\n    r: 64\n    alpha: 16\n    dropout: 0.1\n    target_modules: [q_proj, k_proj, v_proj, dense]\n";

    /// <summary>A run folder holding what a Distill run of <paramref name="recipe"/> would have written.</summary>
    static string FakeRun(Recipe recipe, params (string Path, JsonObject[] Rows)[] files)
    {
        var run = Temp();
        File.WriteAllText(Path.Combine(run, "recipe.yaml"), recipe.ToYaml());
        foreach (var (rel, rows) in files)
        {
            var path = Path.Combine(run, rel);
            using var w = new JsonlWriter(path);
            foreach (var r in rows) w.Write(r);
            w.Commit();
        }
        return run;
    }

    static JsonObject[] TeacherGen() =>
    [
        new() { ["prompt"] = "def add(a, b):\n", ["completion"] = "    return a + b\n", ["task_id"] = "T/1", ["reference_completion"] = "    return a+b\n" },
        new() { ["prompt"] = "def neg(x):\n", ["completion"] = "    return -x\n", ["task_id"] = "T/2", ["reference_completion"] = "    return -x\n" },
    ];

    static JsonObject[] Pairs(bool scores = false) =>
    [
        .. Enumerable.Range(0, 3).Select(i =>
        {
            var o = new JsonObject
            {
                ["prompt"] = $"def f{i}(x):\n", ["chosen"] = $"    return x + {i}\n", ["rejected"] = "    pass\n", ["prompt_index"] = i, ["iteration"] = 1,
                ["label"] = "pseudo", ["chosen_model"] = "openai:gpt-4o-mini", ["rejected_model"] = "student",
                ["rejected_sampling"] = new JsonObject { ["temperature"] = 1.0, ["answer_seed"] = 1234 + i, ["finish_reason"] = "stop" },
            };
            if (scores) { o["chosen_score"] = 0.9 - 0.1 * i; o["rejected_score"] = 0.1; }
            return o;
        }),
    ];

    /// <summary>Exports, compiles and checks the API use; returns the project folder and the parsed train.py.</summary>
    static (string Dir, JsonObject Parsed, string Text) Export(Recipe recipe, string? run = null)
    {
        var dir = Path.Combine(Temp(), "trl");
        var result = TrlProject.Write(recipe, run, dir);
        Assert.Contains("train.py", result.Files);
        var train = Path.Combine(dir, "train.py");
        var (exit, _, err) = Python("-m", "py_compile", train); // the byte code goes to the project's __pycache__
        Assert.True(exit == 0, $"train.py does not compile: {err}");
        var parsed = Parse(train);
        Assert.Empty(ApiProblems(parsed));
        foreach (var f in new[] { "requirements.txt", "README.md", "recipe.yaml", "accelerate/multi_gpu.yaml", "accelerate/deepspeed_zero2.yaml", "accelerate/deepspeed_zero3.yaml" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.Contains($"trl=={TrlProject.TrlVersion}", File.ReadAllText(Path.Combine(dir, "requirements.txt")));
        Assert.Contains("zero_stage: 3", File.ReadAllText(Path.Combine(dir, "accelerate/deepspeed_zero3.yaml")));
        Assert.Contains("distributed_type: MULTI_GPU", File.ReadAllText(Path.Combine(dir, "accelerate/multi_gpu.yaml")));
        return (dir, parsed, File.ReadAllText(train));
    }

    static List<JsonObject> Rows(string path) => JsonlReader.Read(path).Select(r => r.Json).ToList();

    /// <summary>TRL's documented columns (dataset_formats.md): strings for standard, lists of {role, content} for conversational.</summary>
    static void AssertStandard(string path, params string[] columns)
    {
        foreach (var row in Rows(path))
            foreach (var c in columns) Assert.True(row[c] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String, $"{path}: {c} is not a string");
    }

    /// <summary>Export → import gives every source row back, provenance included.</summary>
    static void AssertRoundTrip(string source, string exported)
    {
        var back = DatasetReader.Read(exported).Select(TrlFormat.FromTrl).ToList();
        var original = Rows(source);
        Assert.Equal(original.Count, back.Count);
        for (int i = 0; i < original.Count; i++)
            Assert.True(JsonNode.DeepEquals(original[i], back[i]), $"row {i}: {original[i].ToJsonString()} came back as {back[i].ToJsonString()}");
    }

    [Fact]
    public void Sft_SftTrainerWithTheRecipesSettings_AndTheBuiltInData()
    {
        var recipe = R("name: s\nmethod: sft\n" + Student + "data:\n  n: 5\ntrain:\n  epochs: 3\n  lr: 5.0e-4\n  batch_size: 2\n  grad_accum: 4\n  max_seq_len: 1024\n  warmup_steps: 10\n  lr_schedule: constant\n");
        var (dir, parsed, text) = Export(recipe);
        var cfg = Call(parsed, "SFTConfig");
        Assert.Equal(3.0, (double)Value(cfg, "num_train_epochs")!);
        Assert.Equal(5e-4, (double)Value(cfg, "learning_rate")!);
        Assert.Equal(2, (int)Value(cfg, "per_device_train_batch_size")!);
        Assert.Equal(4, (int)Value(cfg, "gradient_accumulation_steps")!);
        Assert.Equal(1024, (int)Value(cfg, "max_length")!);
        Assert.Equal("constant_with_warmup", (string)Value(cfg, "lr_scheduler_type")!);
        Assert.True((bool)Value(cfg, "completion_only_loss")!);
        Call(parsed, "SFTTrainer");
        var lora = Call(parsed, "LoraConfig");
        Assert.Equal(16.0, (double)Value(lora, "lora_alpha")!);
        Assert.Equal(0.1, (double)Value(lora, "lora_dropout")!);
        Assert.Contains("LORA_R = 64", text);
        Assert.Contains("target_modules=[\"q_proj\", \"k_proj\", \"v_proj\", \"dense\"]", text);
        Assert.Contains("QLORA = False", text);
        var data = Path.Combine(dir, "data", "train.jsonl");
        Assert.Equal(5, Rows(data).Count);
        AssertStandard(data, "prompt", "completion");
        Assert.All(Rows(data), r => Assert.NotNull(r["task_id"])); // the built-in task's provenance
    }

    [Fact]
    public void DpoKdOffline_DpoTrainerWithBetaLossAndQlora_PairsAndTeacherAnswersWithProvenance()
    {
        var recipe = R("name: d\nmethod: dpo-kd-offline\n" + Student.Replace("    r: 64\n", "    r: 64\n    qlora: true\n")
            + "teacher:\n  model: openai:gpt-4o-mini\npreference:\n  beta: 0.25\n  label_smoothing: 0.1\n  sft_weight: 0.5\ntrain:\n  epochs: 3\n  batch_size: 1\n");
        var run = FakeRun(recipe, ("data/teacher-gen.jsonl", TeacherGen()), ("iter-1/pairs.jsonl", Pairs()));
        var (dir, parsed, text) = Export(recipe, run);
        var cfg = Call(parsed, "DPOConfig");
        Assert.Equal(0.25, (double)Value(cfg, "beta")!);
        Assert.Equal("sigmoid", (string)Value(cfg, "loss_type")!);
        Assert.Equal(0.1, (double)Value(cfg, "label_smoothing")!);
        Assert.Equal(0.5, (double)Value(cfg, "rpo_alpha")!);
        Assert.Contains("precompute_ref_log_probs=not zero3(),", text); // trl 0.24 refuses precomputing under ZeRO-3
        Assert.Null(Value(Call(parsed, "DPOTrainer"), "ref_model"));
        var bnb = Call(parsed, "BitsAndBytesConfig");
        Assert.Equal("nf4", (string)Value(bnb, "bnb_4bit_quant_type")!);
        Assert.True((bool)Value(bnb, "bnb_4bit_use_double_quant")!);
        Assert.True((bool)Value(bnb, "load_in_4bit")!);
        Assert.Contains("QLORA = True", text);
        Assert.Contains("ITERATIONS = 1", text);
        AssertStandard(Path.Combine(dir, "data", "pairs-iter1.jsonl"), "prompt", "chosen", "rejected");
        AssertRoundTrip(Path.Combine(run, "iter-1", "pairs.jsonl"), Path.Combine(dir, "data", "pairs-iter1.jsonl"));
        AssertRoundTrip(Path.Combine(run, "data", "teacher-gen.jsonl"), Path.Combine(dir, "data", "teacher.jsonl"));
        Assert.Equal(1235, (int)Rows(Path.Combine(dir, "data", "pairs-iter1.jsonl"))[1]["rejected_sampling"]!["answer_seed"]!);
    }

    [Theory]
    [InlineData("ipo", "ipo")]
    [InlineData("hinge", "hinge")]
    [InlineData("dpo", "sigmoid")]
    public void DpoKdOnline_IterationsOfGenerateAndDpo_LossTypeMapped(string loss, string trl)
    {
        var recipe = R("name: d\nmethod: dpo-kd-online\n" + Student + $"teacher:\n  model: openai:gpt-4o-mini\npreference:\n  loss: {loss}\n  iterations: 3\n"
            + "sampling:\n  temperature: 0.8\n  top_p: 0.95\n  max_new_tokens: 300\n");
        var run = FakeRun(recipe, ("data/teacher-gen.jsonl", TeacherGen()));
        var (dir, parsed, text) = Export(recipe, run);
        Assert.Equal(trl, (string)Value(Call(parsed, "DPOConfig"), "loss_type")!);
        Assert.Equal(0.0, (double)Value(Call(parsed, "DPOConfig"), "label_smoothing")!);
        Assert.Contains("ITERATIONS = 3", text);
        Assert.Contains("temperature=0.8,", text);
        Assert.Contains("max_new_tokens=300,", text);
        Assert.Contains("first_pairs = None", text); // no round-1 pairs in this run: every round samples
        Assert.False(File.Exists(Path.Combine(dir, "data", "pairs-iter1.jsonl")));
    }

    [Theory]
    [InlineData("forward_kl", 1.0, 0.0, false)]
    [InlineData("reverse_kl", 1.0, 1.0, false)]
    [InlineData("js", 1.0, 0.3, false)]
    [InlineData("tvd", 1.0, null, true)]
    [InlineData("js", 2.0, 0.3, true)]
    public void TokenKd_GkdTrainer_BetaFollowsTrlsDefinition(string divergence, double tau, double? trlBeta, bool subclass)
    {
        var recipe = R("name: k\nmethod: token-kd\n" + Student + "teacher:\n  model: /models/teacher\ndata:\n  n: 4\n"
            + $"train:\n  kd:\n    divergence: {divergence}\n    beta: 0.3\n    temperature: {tau}\n    lambda: 0.7\n    max_new_tokens: 64\n");
        var (dir, parsed, text) = Export(recipe);
        var cfg = Call(parsed, "GKDConfig");
        Assert.Equal(0.7, (double)Value(cfg, "lmbda")!);
        Assert.Equal(64, (int)Value(cfg, "max_new_tokens")!);
        if (trlBeta is { } b) Assert.Equal(b, (double)Value(cfg, "beta")!);
        Assert.Equal(subclass, parsed["classes"]!.AsObject().ContainsKey("DistillKDTrainer"));
        Assert.Equal(subclass ? "DistillKDTrainer" : "GKDTrainer", (string)Call(parsed, subclass ? "DistillKDTrainer" : "GKDTrainer")["callee"]!);
        Assert.Contains("TEACHER = \"/models/teacher\"", text);
        // GKDTrainer's input: conversational messages, user then assistant (TRL dataset_formats.md)
        foreach (var row in Rows(Path.Combine(dir, "data", "train.jsonl")))
        {
            var m = row["messages"]!.AsArray();
            Assert.Equal(new[] { "user", "assistant" }, m.Select(x => (string)x!["role"]!));
            Assert.All(m, x => Assert.IsType<string>((string)x!["content"]!));
            Assert.NotNull(row["task_id"]);
        }
    }

    [Fact]
    public void SeqKd_SftOnTheTeachersAnswers_NeedsTheRun()
    {
        var recipe = R("name: q\nmethod: seqkd\n" + Student + "teacher:\n  model: openai:gpt-4o-mini\n");
        var e = Assert.Throws<ArgumentException>(() => TrlProject.Write(recipe, null, Path.Combine(Temp(), "p")));
        Assert.Contains("--run", e.Message);
        Assert.Contains("teacher-gen.jsonl", e.Message);
        var run = FakeRun(recipe, ("data/teacher-gen.jsonl", TeacherGen()));
        var (dir, parsed, _) = Export(recipe, run);
        Call(parsed, "SFTTrainer");
        AssertStandard(Path.Combine(dir, "data", "train.jsonl"), "prompt", "completion");
        AssertRoundTrip(Path.Combine(run, "data", "teacher-gen.jsonl"), Path.Combine(dir, "data", "train.jsonl"));
    }

    [Theory]
    [InlineData("plad-rank", "auto", "ipo")]
    [InlineData("plad-margin", "auto", "ipo")]
    [InlineData("plad-rank", "off", "sigmoid")]
    public void Plad_DpoTrainerSubclassWithTheCalibrationLoss(string loss, string lengthNorm, string trlLossType)
    {
        var recipe = R("name: p\nmethod: plad\n" + Student + "teacher:\n  model: /models/teacher\n"
            + $"preference:\n  loss: {loss}\n  delta: 0.5\n  temperature: 0.7\n  length_normalization: {lengthNorm}\nplad:\n  scorer: rougeL\n  sft_epochs: 1\n");
        var run = FakeRun(recipe, ("pairs.jsonl", Pairs(scores: true)), ("sft.jsonl", TeacherGen()));
        var (dir, parsed, text) = Export(recipe, run);
        var classes = parsed["classes"]!.AsObject();
        Assert.Equal("DPOTrainer", (string)classes["PladTrainer"]!["bases"]![0]!);
        Assert.Contains("dpo_loss", classes["PladTrainer"]!["methods"]!.AsArray().Select(m => (string)m!));
        var cfg = Call(parsed, "DPOConfig");
        Assert.Equal(trlLossType, (string)Value(cfg, "loss_type")!);
        Assert.True((bool)Value(cfg, "reference_free")!);
        Assert.False((bool)Value(cfg, "precompute_ref_log_probs")!);
        Assert.Contains($"PLAD_LOSS = \"{loss}\"", text);
        Assert.Contains("DELTA = 0.5", text);
        Assert.Contains("TAU = 0.7", text);
        Call(parsed, "SFTTrainer"); // §5.1: SFT on the labelled half first
        Assert.Equal(loss == "plad-margin", text.Contains("row[\"score_gap\"] = float(row[\"chosen_score\"])"));
        AssertRoundTrip(Path.Combine(run, "pairs.jsonl"), Path.Combine(dir, "data", "pairs.jsonl"));
        AssertRoundTrip(Path.Combine(run, "sft.jsonl"), Path.Combine(dir, "data", "sft.jsonl"));
    }

    [Theory]
    [InlineData("sft", "SFTTrainer")]
    [InlineData("ipo", "DPOTrainer")]
    [InlineData("plad-rank", "PladTrainer")]
    public void Persd_SftOnTheRefinements_OrAPreferenceLossOnTheirPairs(string trainOn, string trainer)
    {
        var recipe = R("name: p\nmethod: persd\n" + Student + $"teacher:\n  model: reference\npersd:\n  train_on: {trainOn}\n  beta: 0.2\n");
        var persdPairs = Pairs().Select(p => { p["task_id"] = "T/" + p["prompt_index"]; p["rejected_feedback"] = "AssertionError"; return p; }).ToArray();
        var run = FakeRun(recipe, ("data/persd-train.jsonl", TeacherGen()), ("data/persd-pairs.jsonl", persdPairs));
        var (dir, parsed, _) = Export(recipe, run);
        Call(parsed, trainer);
        if (trainOn == "ipo") Assert.Equal(0.2, (double)Value(Call(parsed, "DPOConfig"), "beta")!);
        var (src, dst) = trainOn == "sft" ? ("data/persd-train.jsonl", "train.jsonl") : ("data/persd-pairs.jsonl", "pairs.jsonl");
        AssertRoundTrip(Path.Combine(run, src), Path.Combine(dir, "data", dst));
    }

    [Fact]
    public void SettingsTrlCannotExpress_AreRefusedNamingTheKey()
    {
        var persd = R("name: p\nmethod: persd\n" + Student + "teacher:\n  model: reference\npersd:\n  train_on: plad-margin\n");
        Assert.Contains("persd.train_on", Assert.Throws<RecipeException>(() => TrlSettings.From(persd)).Message);
        var ln = R("name: d\nmethod: dpo-kd-offline\n" + Student + "teacher:\n  model: openai:x\npreference:\n  length_normalization: on\n");
        Assert.Contains("preference.length_normalization", Assert.Throws<RecipeException>(() => TrlSettings.From(ln)).Message);
    }

    [Fact]
    public void AStudentTheRecipeMakes_IsAskedFor_WhenThereIsNoRun()
    {
        var (_, _, text) = Export(Recipe.Load(Path.Combine(Root(), "recipes", "smoke", "sft.yaml")));
        Assert.Contains("STUDENT = None", text);
        Assert.Contains("--student is required", text);
    }

    /// <summary>The API check can fail: a misspelt or removed keyword, or an override TRL does not have, is reported.</summary>
    [Fact]
    public void TheApiCheck_CatchesAnUndocumentedKeywordOrOverride()
    {
        var recipe = R("name: k\nmethod: token-kd\n" + Student + "teacher:\n  model: /models/teacher\ndata:\n  n: 2\ntrain:\n  kd:\n    divergence: tvd\n");
        var (dir, _, text) = Export(recipe);
        var bad = Path.Combine(dir, "bad.py");
        File.WriteAllText(bad, text.Replace("lmbda=", "lambda_=").Replace("def generalized_jsd_loss(", "def jsd_loss(")
            .Replace("max_length=", "max_seq_length="));
        var problems = ApiProblems(Parse(bad));
        Assert.Contains(problems, p => p.Contains("lambda_"));
        Assert.Contains(problems, p => p.Contains("max_seq_length")); // SFTConfig's name before trl 0.20
        Assert.Contains(problems, p => p.Contains("jsd_loss"));
    }
}

namespace Distill.Methods.Demo;

/// <summary>Shape of one model the demo makes from scratch (a Llama decoder; the vocabulary is the demo's BPE).</summary>
public sealed record DemoModelShape(int Hidden, int Intermediate, int Layers, int Heads, int KvHeads);

/// <summary>
/// One method's training settings in the demo: train.lr, train.max_steps, and for the preference methods
/// preference.sft_weight (an NLL term on the chosen answer, as in RPO) and preference.beta (DPO's β; null: 0.1, TRL's
/// default). Chosen on the distill shard by `distill demo --tune` (<see cref="DemoTuning"/>; docs/demo.md).
/// </summary>
public sealed record DemoMethodSettings(double Lr, int Steps, double SftWeight = 0, double? Beta = null);

/// <summary>
/// Everything `distill demo` fixes in advance: model sizes, data sizes, steps, learning rates, sampling. Nothing here is
/// chosen on the test shard; the methods' settings are the preset's (issue 16 §1: hyperparameters are fixed in the
/// preset or chosen on the distill shard, never on test).
/// </summary>
public sealed record DemoPreset
{
    public required string Name { get; init; }
    public int BpeVocab { get; init; } = 384;
    public required DemoModelShape Teacher { get; init; }
    public required DemoModelShape Student { get; init; }
    /// <summary>Problems of the train shard (each gives a gen and a sum record): the supervised half (PLaD §4.1).</summary>
    public int TrainProblems { get; init; }
    /// <summary>Problems of the distill shard: the distillation half every method uses.</summary>
    public int DistillProblems { get; init; }
    public int TestProblems { get; init; }
    public int MaxDifficulty { get; init; } = 1;
    public int TeacherSteps { get; init; }
    public double TeacherLr { get; init; } = 3e-3;
    public int StudentSteps { get; init; }
    public double StudentLr { get; init; } = 3e-3;
    public int BatchSize { get; init; } = 4;
    public int MaxSeqLen { get; init; } = 192;
    /// <summary>
    /// train.append_eos of every training run (TRL's SFTTrainer appends EOS to each completion): the models learn to stop.
    /// Off for quick, whose models see a dozen steps: EOS, the most frequent completion token, would be their first word.
    /// </summary>
    public bool AppendEos { get; init; } = true;
    /// <summary>Steps of each method's own training (from the student start: a LoRA adapter, or every weight when <see cref="LoraR"/> is 0).</summary>
    public int MethodSteps { get; init; }
    public double MethodLr { get; init; } = 3e-3;
    /// <summary>student.adapter.r of every method run: LoRA's rank on the attention projections, 0 = every weight trained.</summary>
    public int LoraR { get; init; } = 8;
    /// <summary>Longest teacher / student answer, tokens (teacher calls, preference sampling, evaluation).</summary>
    public int MaxNewTokens { get; init; } = 48;
    public int DpoOnlineIterations { get; init; } = 2;
    /// <summary>pass@k: samples per test problem (n) at this temperature; k = 1 and every k ≤ n of <see cref="PassKs"/>.</summary>
    public int EvalSamples { get; init; } = 2;
    public double EvalTemperature { get; init; } = 0.8;
    public int[] PassKs { get; init; } = [1, 2];
    /// <summary>plad.distill_fraction values besides 1 (PLaD §5.5).</summary>
    public double[] PladFractions { get; init; } = [0.5];
    /// <summary>Reward model (a small LlamaForSequenceClassification) Bradley–Terry steps on the train shard.</summary>
    public int RewardSteps { get; init; } = 40;
    public int RewardPairs { get; init; } = 32;
    public int BootstrapResamples { get; init; } = 1000;
    /// <summary>
    /// Method runs and evaluations run this many at a time, each on one engine thread (1: one after another on every
    /// thread). The demo's models are too small for a step's kernels to gain from two threads; two runs side by side use
    /// both cores without the workers' spinning (DemoPipeline.InParallel). The base run (the teacher) keeps every thread.
    /// </summary>
    public int ParallelRuns { get; init; } = 2;
    /// <summary>
    /// Train problems whose PERsD repair conversation the teacher also learns (<see cref="DemoRepairData"/>: the demo's
    /// stand-in for an API teacher's ability to repair; 0 = none), and the longest such training sequence, tokens
    /// (the authors' conversation is ~700 tokens of the demo's BPE).
    /// </summary>
    public int TeacherRepairProblems { get; init; }
    public int TeacherMaxSeqLen { get; init; } = 1024;
    /// <summary>
    /// persd.teacher_mode of the PERsD runs: "solve" (the served teacher gets each failed task's gen-view prompt alone, the
    /// prompt it was trained on, and solves it afresh; only answers that pass the tests are kept) or "repair" (the authors'
    /// conversation with the student's attempt and feedback, which only a teacher that learnt it, <see cref="TeacherRepairProblems"/>,
    /// can answer). docs/demo.md "PERsD in the demo".
    /// </summary>
    public string PersdTeacherMode { get; init; } = "solve";
    /// <summary>Per-method settings chosen on the distill shard (method name → settings); a method not listed uses <see cref="MethodLr"/> and <see cref="MethodSteps"/>.</summary>
    public IReadOnlyDictionary<string, DemoMethodSettings> Methods { get; init; } = new Dictionary<string, DemoMethodSettings>();
    /// <summary>`distill demo --tune`: distill-shard problems held out as the validation slice (the methods train on the rest during selection).</summary>
    public int TuneValidationProblems { get; init; } = 2;

    /// <summary>The settings a method trains with: its tuned entry, else the preset's common ones.</summary>
    public DemoMethodSettings For(string method) => Methods.TryGetValue(method, out var s) ? s : new(MethodLr, MethodSteps);

    /// <summary>Every stage working, in minutes on 2 cores — not a result (issue 16 §2).</summary>
    public static DemoPreset Quick { get; } = new()
    {
        Name = "quick", BpeVocab = 320, AppendEos = false,
        Teacher = new(64, 160, 2, 4, 2), Student = new(32, 96, 1, 2, 2),
        TrainProblems = 48, DistillProblems = 8, TestProblems = 4, MaxDifficulty = 1,
        // every weight trained, as the standard preset's methods do (DemoQuickTests runs that path end to end)
        TeacherSteps = 24, StudentSteps = 12, MethodSteps = 4, LoraR = 0, BatchSize = 4, MaxSeqLen = 160,
        MaxNewTokens = 24, DpoOnlineIterations = 2, EvalSamples = 2, PassKs = [1, 2], PladFractions = [0.5],
        RewardSteps = 16, RewardPairs = 16, BootstrapResamples = 500,
        // 16 repair conversations only so that the teacher's repair data (teacher.init_data) runs in the test suite; the
        // PERsD runs ask as the standard preset's do (PersdTeacherMode solve)
        TeacherRepairProblems = 16,
    };

    /// <summary>
    /// The measured preset (≤ 20 min on 2 cores): a teacher 4.6× the student's parameters, trained longer. The student start
    /// is sized to solve some problems (a student at 0 pass@1 leaves no method a way to show a change but up). Every method
    /// trains every weight of the student (LoRA r 8 on attention held the 2 × 64 student at its start whatever it was
    /// trained on; docs/demo.md "Why no method moves the student") at one lr, 1e-3, for 400 steps on 576 distill problems
    /// (the shard holds ~692 of difficulty ≤ 2).
    /// </summary>
    public static DemoPreset Standard { get; } = new()
    {
        Name = "standard", BpeVocab = 768,
        Teacher = new(128, 352, 4, 4, 2), Student = new(64, 176, 2, 4, 2),
        TrainProblems = 1600, DistillProblems = 576, TestProblems = 100, MaxDifficulty = 2,
        TeacherSteps = 1200, TeacherLr = 3e-3, StudentSteps = 800, StudentLr = 3e-3, MethodSteps = 400, MethodLr = 1e-3, LoraR = 0, BatchSize = 8, MaxSeqLen = 256,
        MaxNewTokens = 64, DpoOnlineIterations = 2, EvalSamples = 4, EvalTemperature = 0.2, PassKs = [1, 4], PladFractions = [0.25, 0.5],
        RewardSteps = 200, RewardPairs = 400, BootstrapResamples = 2000, TuneValidationProblems = 64,
        // 0: with 800 repair conversations (~700 tokens each) in its 1200 steps the teacher fell from 28.0 to 7.5 pass@1 on
        // the test shard, below the student (docs/demo.md "PERsD in the demo", 3 December 2026 13:08 run)
        TeacherRepairProblems = 0,
        // so PERsD's teacher is asked each failed task's gen-view prompt alone (persd.teacher_mode: solve), not the repair
        // conversation it cannot read (it answered all 241 with the empty string: docs/demo.md)
        PersdTeacherMode = "solve",
        // the preference methods keep the NLL term on the chosen answer (RPO) that `distill demo --tune` chose under LoRA
        // (sft_weight 1 beat 0 at every lr; docs/demo.md), at the common lr: not re-tuned for full-weight training
        Methods = new Dictionary<string, DemoMethodSettings>
        {
            ["dpo-kd-offline"] = new(1e-3, 400, SftWeight: 1),
            ["dpo-kd-online"] = new(1e-3, 400, SftWeight: 1),
            ["plad-rank"] = new(1e-3, 400, SftWeight: 1),
            ["plad-margin"] = new(1e-3, 400, SftWeight: 1),
        },
    };

    public static DemoPreset Get(string name) => name switch
    {
        "quick" => Quick,
        "standard" => Standard,
        _ => throw new ArgumentException($"--preset '{name}': expected quick or standard"),
    };
}

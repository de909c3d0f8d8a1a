using Distill.Methods.Sft;
using Distill.Methods.TokenKd;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors.Kernels.Losses;
using Distill.Tensors.Optim;
using Distill.Text;
using Distill.Training;
using Distill.Training.Data;
using Distill.Training.Objectives;

namespace Distill.Methods.Training;

/// <summary>
/// One training stage described as data: a method, its data file, the student (and teacher) folders, the adapter
/// and the Trainer's hyperparameters. `distill train` fills it from flags, a recipe's train stage from recipe keys;
/// both then go through <see cref="TrainingSetup.Prepare"/>, so they train the same way.
/// </summary>
public sealed record TrainingSpec
{
    /// <summary>sft, token-kd, or a preference loss (dpo, ipo, hinge, plad-rank, plad-margin). SeqKD is sft on teacher answers.</summary>
    public required string Method { get; init; }
    public required string DataFile { get; init; }
    public required string ModelDir { get; init; }
    public string? TeacherDir { get; init; }
    /// <summary>Null: train every weight. Otherwise the LoRA adapter to apply (BaseModelNameOrPath is filled in).</summary>
    public LoraConfig? Lora { get; init; }
    public bool QLora { get; init; }
    /// <summary>The weights the student samples with inside the objective (GKD's on-policy samples): q8 needs an adapter.</summary>
    public InferenceWeights SamplingWeights { get; init; }
    public required TrainerOptions Options { get; init; }
    public DivergenceOptions Divergence { get; init; } = new(DivergenceKind.ForwardKl);
    public double Lambda { get; init; }
    public int MaxNewTokens { get; init; } = 128;
    public PreferenceOptions? Preference { get; init; }
    /// <summary>Append the model's EOS to every text completion (TRL SFTTrainer's add_eos): the model learns where an answer ends.</summary>
    public bool AppendEos { get; init; }
}

/// <summary>A loaded stage: the student (adapter applied), the teacher if any, the objective, the examples. Disposing frees the objective and both models.</summary>
public sealed class PreparedTraining(CausalLM student, CausalLM? teacher, IObjective objective, IReadOnlyList<TrainingExample> examples, TrainerOptions options) : IDisposable
{
    public CausalLM Student { get; } = student;
    public CausalLM? Teacher { get; } = teacher;
    public IObjective Objective { get; } = objective;
    public IReadOnlyList<TrainingExample> Examples { get; } = examples;
    public TrainerOptions Options { get; } = options;

    public Trainer Trainer(string outputDir) => new(Options, Objective, Examples, Student, outputDir);

    public void Dispose()
    {
        (Objective as IDisposable)?.Dispose();
        Student.Dispose();
        Teacher?.Dispose();
    }
}

public static class TrainingSetup
{
    public static readonly string[] PreferenceMethods = ["dpo", "ipo", "hinge", "plad-rank", "plad-margin"];

    /// <summary>train.packed_weights_mb as TrainerOptions.PackedWeightsBudget: −1 (automatic) as is, else megabytes → bytes.</summary>
    public static long PackedWeightsBudget(long megabytes)
        => megabytes < -1 ? throw new ArgumentException($"train.packed_weights_mb must be ≥ 0 (or -1 for a quarter of the machine's memory), got {megabytes}")
            : megabytes == -1 ? -1 : megabytes << 20;

    /// <summary>Loads the student (and teacher), applies the adapter, reads the data, builds the objective.</summary>
    public static PreparedTraining Prepare(TrainingSpec spec)
    {
        bool preference = PreferenceMethods.Contains(spec.Method);
        if (spec.Method is not (SftMethod.MethodName or TokenKdMethod.MethodName) && !preference)
            throw new ArgumentException($"training method '{spec.Method}': expected sft, token-kd, {string.Join(", ", PreferenceMethods)}");
        if (spec.Method == "token-kd" && spec.TeacherDir is null)
            throw new ArgumentException("token-kd needs a teacher: a local model folder sharing the student's vocabulary");
        if (spec.SamplingWeights != InferenceWeights.F32 && spec.Lora is null)
            throw new ArgumentException("8-bit sampling weights need a LoRA adapter: training every weight would leave the 8-bit copy stale after the first step");
        if (spec.QLora && spec.Lora is null)
            throw new ArgumentException("QLoRA trains an adapter over an NF4 base; it cannot be combined with training every weight");
        var student = ModelIO.Load(spec.ModelDir);
        CausalLM? teacher = null;
        try
        {
            var lora = spec.Lora;
            if (lora is not null)
            {
                if (spec.QLora) LoraModel.QuantizeBase(student);
                lora = lora with { BaseModelNameOrPath = Path.GetFullPath(spec.ModelDir) };
                LoraModel.Apply(student, lora, spec.Options.Seed);
                student.UseInferenceWeights(spec.SamplingWeights);
            }
            var tokenizer = File.Exists(Path.Combine(spec.ModelDir, "tokenizer.json")) ? TokenizerLoader.Load(spec.ModelDir) : null;
            var examples = TrainingJsonl.Read(spec.DataFile, tokenizer, preference, student.Config.VocabSize,
                spec.AppendEos && !preference && student.Config.EosTokenIds.Length > 0 ? student.Config.EosTokenIds[0] : null);
            IObjective objective = spec.Method switch
            {
                SftMethod.MethodName => SftMethod.Objective(),
                TokenKdMethod.MethodName => TokenKdMethod.Objective(teacher = TokenKdMethod.LoadTeacher(spec.TeacherDir!, student, spec.ModelDir),
                    student, spec.Divergence, spec.Lambda, spec.MaxNewTokens),
                _ => new PreferenceObjective(spec.Preference ?? throw new ArgumentException($"method {spec.Method}: no preference options")),
            };
            var options = spec.Options with { Stage = spec.Options.Stage.Length == 0 ? spec.Method : spec.Options.Stage, Lora = lora, PadTokenId = student.Config.PadTokenId ?? 0 };
            return new PreparedTraining(student, teacher, objective, examples, options);
        }
        catch
        {
            teacher?.Dispose();
            student.Dispose();
            throw;
        }
    }

    /// <summary>A divergence by name: the CLI's spelling (forward-kl, skew-reverse-kl) or the recipe's (forward_kl, js, skew_kl).</summary>
    public static DivergenceKind Divergence(string name) => name.Replace('_', '-') switch
    {
        "forward-kl" => DivergenceKind.ForwardKl, "reverse-kl" => DivergenceKind.ReverseKl, "jsd" or "js" => DivergenceKind.Jsd, "tvd" => DivergenceKind.Tvd,
        "skew-forward-kl" or "skew-kl" => DivergenceKind.SkewForwardKl, "skew-reverse-kl" => DivergenceKind.SkewReverseKl,
        _ => throw new ArgumentException($"divergence '{name}': expected forward-kl, reverse-kl, jsd, tvd, skew-forward-kl or skew-reverse-kl"),
    };

    public static ScheduleKind Schedule(string name) => name switch
    {
        "constant" => ScheduleKind.Constant, "linear" => ScheduleKind.Linear, "cosine" => ScheduleKind.Cosine,
        _ => throw new ArgumentException($"schedule '{name}': expected constant, linear or cosine"),
    };

    public static PreferenceLossKind PreferenceLoss(string method) => method switch
    {
        "dpo" => PreferenceLossKind.Dpo, "ipo" => PreferenceLossKind.Ipo, "hinge" => PreferenceLossKind.Hinge,
        "plad-rank" => PreferenceLossKind.PladRank, "plad-margin" => PreferenceLossKind.PladMargin,
        _ => throw new ArgumentException($"'{method}' is not a preference loss"),
    };
}

using System.CommandLine;
using Distill.Methods.Training;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors.Kernels.Losses;
using Distill.Tensors.Optim;
using Distill.Tensors.Threading;
using Distill.Training;
using Distill.Training.Objectives;
using Distill.Training.Data;

namespace Distill.Cli.Commands;

/// <summary>`distill train`: one training stage from the command line — a method (objective), data, a model, LoRA/QLoRA or full weights.</summary>
sealed class TrainCommand : IVerb
{
    static readonly string[] Methods = ["sft", "token-kd", "dpo", "ipo", "hinge", "plad-rank", "plad-margin"];

    public Command Build()
    {
        var method = new Option<string>("--method") { Description = "sft | token-kd | dpo | ipo | hinge | plad-rank | plad-margin", Required = true };
        method.AcceptOnlyFromAmong(Methods);
        var data = new Option<string>("--data") { Description = "training JSONL in TRL columns: prompt/completion (sft, token-kd) or prompt/chosen/rejected (preference); *_ids for token ids", Required = true };
        var model = new Option<string>("--model") { Description = "student: Hugging Face model folder", Required = true };
        var teacher = new Option<string?>("--teacher") { Description = "token-kd: teacher model folder (same vocabulary)" };
        var outDir = new Option<string>("--out") { Description = "run folder: metrics.jsonl, checkpoints/, adapter/ (or model/)", Required = true };
        var resume = new Option<bool>("--resume") { Description = "continue from the newest checkpoint in --out" };
        var full = new Option<bool>("--full") { Description = "train every weight (no LoRA adapter)" };
        var qlora = new Option<bool>("--qlora") { Description = "quantize the base to NF4 (bitsandbytes' double quantization) under the adapter" };
        var r = new Option<int>("--lora-r") { Description = "LoRA rank", DefaultValueFactory = _ => 8 };
        var alpha = new Option<double>("--lora-alpha") { Description = "LoRA alpha (scaling alpha/r)", DefaultValueFactory = _ => 16 };
        var dropout = new Option<double>("--lora-dropout") { Description = "LoRA dropout", DefaultValueFactory = _ => 0.0 };
        var targets = new Option<string>("--lora-targets") { Description = "comma-separated module names", DefaultValueFactory = _ => "q_proj,k_proj,v_proj,o_proj" };
        var lr = new Option<float>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 2e-4f };
        var schedule = new Option<string>("--schedule") { Description = "constant | linear | cosine (after warm-up)", DefaultValueFactory = _ => "linear" };
        var warmup = new Option<int>("--warmup-steps") { Description = "linear warm-up steps", DefaultValueFactory = _ => 0 };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 1 };
        var maxSteps = new Option<int>("--max-steps") { Description = "optimizer steps (overrides --epochs when > 0)", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "examples per micro-batch", DefaultValueFactory = _ => 4 };
        var accum = new Option<int>("--accum") { Description = "micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var maxLen = new Option<int>("--max-len") { Description = "tokens per sequence (prompt + answer)", DefaultValueFactory = _ => 512 };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 42UL };
        var saveSteps = new Option<int>("--save-steps") { Description = "checkpoint every N steps (0: only at the end)", DefaultValueFactory = _ => 50 };
        var clip = new Option<float>("--max-grad-norm") { Description = "global gradient-norm clip (0: off)", DefaultValueFactory = _ => 1f };
        var wd = new Option<float>("--weight-decay") { DefaultValueFactory = _ => 0f };
        var groupByLength = new Option<bool>("--group-by-length") { Description = "length bucketing (less padding)" };
        var beta = new Option<float>("--beta") { Description = "DPO/IPO/hinge β", DefaultValueFactory = _ => 0.1f };
        var smoothing = new Option<float>("--label-smoothing") { Description = "DPO label smoothing ε", DefaultValueFactory = _ => 0f };
        var delta = new Option<float>("--delta") { Description = "PLaD margin δ", DefaultValueFactory = _ => 1f };
        var sftWeight = new Option<float>("--sft-weight") { Description = "preference: weight of an NLL term on the chosen answer", DefaultValueFactory = _ => 0f };
        var divergence = new Option<string>("--divergence") { Description = "token-kd: forward-kl | reverse-kl | jsd | tvd | skew-forward-kl | skew-reverse-kl", DefaultValueFactory = _ => "forward-kl" };
        var temperature = new Option<float>("--temperature") { Description = "token-kd: softmax temperature τ", DefaultValueFactory = _ => 1f };
        var jsdBeta = new Option<float>("--jsd-beta") { Description = "token-kd: β of JS(β)", DefaultValueFactory = _ => 0.5f };
        var skewAlpha = new Option<float>("--skew-alpha") { Description = "token-kd: α of the skew KLs", DefaultValueFactory = _ => 0.1f };
        var lambda = new Option<double>("--lambda") { Description = "token-kd: GKD on-policy fraction λ (student samples, teacher scores)", DefaultValueFactory = _ => 0.0 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "token-kd on-policy: sampled tokens per prompt", DefaultValueFactory = _ => 128 };
        var packedMb = new Option<long>("--packed-weights-mb") { Description = "MB the frozen weights may take packed for the GEMM (same results, faster steps; -1: a quarter of memory, 0: none)", DefaultValueFactory = _ => -1 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: DISTILL_THREADS or the core count)", DefaultValueFactory = _ => Workers.Count };
        var command = new Command("train", "Run one training stage: writes metrics.jsonl, checkpoints (resumable after a crash) and the trained adapter.\n" +
            "Example: distill train --method sft --data train.jsonl --model models/smollm2 --out runs/sft --lora-r 8 --epochs 2 --batch 4 --accum 2");
        foreach (var o in new Option[] { method, data, model, teacher, outDir, resume, full, qlora, r, alpha, dropout, targets, lr, schedule, warmup, epochs, maxSteps,
                     batch, accum, maxLen, seed, saveSteps, clip, wd, groupByLength, beta, smoothing, delta, sftWeight, divergence, temperature, jsdBeta, skewAlpha, lambda, maxNew, packedMb, threads })
            command.Options.Add(o);
        command.SetAction(pr =>
        {
            Workers.Count = pr.GetValue(threads);
            string m = pr.GetValue(method)!;
            if (m == "token-kd" && pr.GetValue(teacher) is null)
                throw new ArgumentException("--method token-kd needs --teacher DIR (a local model sharing the student's vocabulary)");
            if (pr.GetValue(full) && pr.GetValue(qlora)) throw new ArgumentException("--qlora trains an adapter over an NF4 base; it cannot be combined with --full");
            var spec = new TrainingSpec
            {
                Method = m, DataFile = pr.GetValue(data)!, ModelDir = pr.GetValue(model)!, TeacherDir = pr.GetValue(teacher),
                Lora = pr.GetValue(full) ? null : new LoraConfig
                {
                    R = pr.GetValue(r), LoraAlpha = pr.GetValue(alpha), LoraDropout = pr.GetValue(dropout),
                    TargetModules = pr.GetValue(targets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                },
                QLora = pr.GetValue(qlora),
                Options = new TrainerOptions
                {
                    Stage = m, Epochs = pr.GetValue(epochs), MaxSteps = pr.GetValue(maxSteps), BatchSize = pr.GetValue(batch),
                    GradientAccumulation = pr.GetValue(accum), MaxLength = pr.GetValue(maxLen), LearningRate = pr.GetValue(lr),
                    Schedule = TrainingSetup.Schedule(pr.GetValue(schedule)!), WarmupSteps = pr.GetValue(warmup), WeightDecay = pr.GetValue(wd),
                    MaxGradNorm = pr.GetValue(clip), Seed = pr.GetValue(seed), SaveSteps = pr.GetValue(saveSteps),
                    GroupByLength = pr.GetValue(groupByLength), Resume = pr.GetValue(resume),
                    PackedWeightsBudget = TrainingSetup.PackedWeightsBudget(pr.GetValue(packedMb)),
                },
                Divergence = new DivergenceOptions(TrainingSetup.Divergence(pr.GetValue(divergence)!), pr.GetValue(temperature), pr.GetValue(jsdBeta), pr.GetValue(skewAlpha)),
                Lambda = pr.GetValue(lambda), MaxNewTokens = pr.GetValue(maxNew),
                Preference = TrainingSetup.PreferenceMethods.Contains(m)
                    ? new PreferenceOptions(TrainingSetup.PreferenceLoss(m), pr.GetValue(beta), pr.GetValue(smoothing), Delta: pr.GetValue(delta)) { SftWeight = pr.GetValue(sftWeight) }
                    : null,
            };
            using var prepared = TrainingSetup.Prepare(spec);
            var trainer = prepared.Trainer(pr.GetValue(outDir)!);
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            try
            {
                var result = TrainProgressView.Run(trainer, cts.Token);
                Console.Error.WriteLine(result.Completed
                    ? $"distill train: {result.Steps} steps, last loss {result.LastLoss:G5}; weights in {result.FinalDir}, metrics in {result.MetricsPath}"
                    : $"distill train: stopped at step {result.Steps} of {result.TotalSteps}; resume with --resume (checkpoint {result.LastCheckpoint})");
            }
            finally { Console.CancelKeyPress -= onCancel; }
            return 0;
        });
        return command;
    }
}

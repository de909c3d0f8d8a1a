using System.Text;

namespace Distill.Methods.ScaleOut;

/// <summary>
/// The exported project's launch files: accelerate configs (plain multi-GPU DDP, DeepSpeed ZeRO-2, ZeRO-3, in the
/// shape of TRL's examples/accelerate_configs), requirements.txt pinned to the TRL release train.py is written for,
/// and the README.
/// </summary>
static class TrlLaunchFiles
{
    const string Tail = """
machine_rank: 0
main_training_function: main
mixed_precision: bf16
num_machines: 1
num_processes: 8  # GPUs on this machine; for several machines set num_machines, machine_rank and the main process address
rdzv_backend: static
same_network: true
use_cpu: false

""";

    public static IEnumerable<(string Path, string Text)> Accelerate()
    {
        yield return ("accelerate/multi_gpu.yaml", "# accelerate launch --config_file accelerate/multi_gpu.yaml train.py  (DDP: one full copy per GPU)\n"
            + "compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_GPU\ndowncast_bf16: 'no'\ngpu_ids: all\n" + Tail);
        foreach (var stage in new[] { 2, 3 })
            yield return ($"accelerate/deepspeed_zero{stage}.yaml",
                $"# accelerate launch --config_file accelerate/deepspeed_zero{stage}.yaml train.py  (DeepSpeed ZeRO-{stage}: "
                + (stage == 2 ? "optimizer states and gradients sharded" : "parameters sharded too") + ")\n"
                + "compute_environment: LOCAL_MACHINE\ndeepspeed_config:\n  deepspeed_multinode_launcher: standard\n"
                + "  offload_optimizer_device: none\n  offload_param_device: none\n"
                + $"  zero3_init_flag: {(stage == 3 ? "true" : "false")}\n"
                + (stage == 3 ? "  zero3_save_16bit_model: true\n" : "")
                + $"  zero_stage: {stage}\ndistributed_type: DEEPSPEED\ndowncast_bf16: 'no'\n" + Tail);
    }

    public static string Requirements(TrlSettings s)
    {
        var sb = new StringBuilder();
        sb.Append($"# train.py is written for this TRL release: its config keyword names are TRL {TrlProject.TrlVersion}'s.\n");
        sb.Append($"trl=={TrlProject.TrlVersion}\n");
        sb.Append("# lower bounds of trl 0.24.0's own requirements (pyproject.toml) and extras\n");
        sb.Append("transformers>=4.56.1\naccelerate>=1.4.0\ndatasets>=3.0.0\npeft>=0.8.0\n");
        sb.Append((bool)s.Recipe["student.adapter.qlora"]! ? "bitsandbytes  # student.adapter.qlora: NF4 + double quantization\n" : "# bitsandbytes  # only for QLoRA (student.adapter.qlora)\n");
        sb.Append("deepspeed>=0.14.4  # accelerate/deepspeed_zero*.yaml only\n");
        return sb.ToString();
    }

    public static string Readme(TrlSettings s, TrlDataFiles files, IReadOnlyDictionary<string, int> counts, string? runDir)
    {
        var r = s.Recipe;
        var sb = new StringBuilder();
        sb.Append($"# {r.Name}: {s.Method} on TRL {TrlProject.TrlVersion}\n\n");
        sb.Append($"Exported by `distill export --format trl` from recipe `{r.Name}`{(runDir is null ? "" : $" and the run `{runDir}`")}. ");
        sb.Append($"Trainer: **{TrlProject.TrainerName(s)}**. Every setting in `train.py` names the recipe key it comes from; the ");
        sb.Append("resolved recipe is `recipe.yaml`. Distill's docs/scale-out.md explains the mapping and what was and was not checked.\n\n");
        sb.Append("## Files\n\n| file | what |\n|---|---|\n");
        sb.Append("| `train.py` | the training script (TRL's trainer, the recipe's hyperparameters, LoRA" + ((bool)r["student.adapter.qlora"]! ? ", QLoRA NF4 + double quantization" : "") + ") |\n");
        foreach (var (name, n) in counts)
            sb.Append($"| `data/{name}` | {n} rows, {Describe(name, s)}; Distill's provenance columns kept beside TRL's |\n");
        sb.Append("| `accelerate/multi_gpu.yaml` | DDP over the GPUs of one machine |\n");
        sb.Append("| `accelerate/deepspeed_zero2.yaml`, `deepspeed_zero3.yaml` | DeepSpeed ZeRO-2 / ZeRO-3 |\n");
        sb.Append($"| `requirements.txt` | trl=={TrlProject.TrlVersion} and what it needs |\n\n");
        sb.Append("## Run\n\n```bash\npip install -r requirements.txt\n");
        sb.Append("python train.py --student STUDENT_FOLDER_OR_HUB_ID" + (s.Trainer == TrlTrainer.Gkd ? " --teacher TEACHER" : "") + "            # one GPU\n");
        sb.Append("accelerate launch --config_file accelerate/multi_gpu.yaml train.py --student ...      # several GPUs (edit num_processes)\n");
        sb.Append("accelerate launch --config_file accelerate/deepspeed_zero3.yaml train.py --student ... # models that do not fit one GPU\n```\n\n");
        sb.Append("Run from this folder (the accelerate configs and data paths are relative to it). `per_device_train_batch_size` is per GPU: ");
        sb.Append("with N GPUs the global batch is N × batch × grad_accum; divide `gradient_accumulation_steps` by N to keep the recipe's.\n\n");
        sb.Append("## Back to Distill\n\nThe final adapter is `output/adapter/` in PEFT's layout (adapter_config.json + adapter_model.safetensors):\n\n```bash\n");
        sb.Append("distill generate --model STUDENT --adapter output/adapter --input prompts.jsonl                # try it\n");
        sb.Append("distill export --model STUDENT --adapter output/adapter --format gguf --dtype q8_0 --out student.gguf   # llama.cpp / Ollama\n");
        sb.Append("distill export --model STUDENT --adapter output/adapter --format hf --out student-merged              # merged HF folder\n");
        if (s.Trainer == TrlTrainer.Dpo && s.Method != "persd")
            sb.Append("distill data import-trl --in output/iter-2/pairs.jsonl --out pairs.jsonl                # the pairs a round sampled here, in Distill's columns\n");
        sb.Append("```\n");
        if (s.Trainer == TrlTrainer.Gkd)
            sb.Append("\nGKDTrainer reads conversational `messages`: the student's tokenizer needs a chat template (TRL applies it), whereas Distill "
                + "trains on the raw prompt + completion; a tokenizer without one makes TRL fail at the first batch.\n");
        if (s.Notes.Count > 0) sb.Append("\n## Notes\n\n" + string.Concat(s.Notes.Select(n => $"- {n}\n")));
        return sb.ToString();
    }

    static string Describe(string name, TrlSettings s) => name switch
    {
        "train.jsonl" when s.Trainer == TrlTrainer.Gkd => "TRL conversational `messages` (user prompt, assistant completion)",
        "train.jsonl" or "sft.jsonl" => "TRL prompt-completion (standard): `prompt`, `completion`",
        "teacher.jsonl" => "the teacher's answers, TRL prompt-completion: `prompt`, `completion` (the chosen side of every pair)",
        _ => "TRL preference (standard): `prompt`, `chosen`, `rejected`",
    };
}

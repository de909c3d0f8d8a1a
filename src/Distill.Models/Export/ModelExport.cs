using System.Text.Json.Nodes;
using Distill.Models.Formats;
using Distill.Models.Formats.Gguf;
using Distill.Models.Lora;

namespace Distill.Models.Export;

/// <summary>The export formats of `distill export`.</summary>
public enum ExportFormat { Hf, Peft, Gguf }

/// <summary>What an export wrote, in one line for the user, plus caveats (e.g. a sliding window llama.cpp will not apply).</summary>
public sealed record ExportResult(string Path, string Summary, IReadOnlyList<string> Caveats);

/// <summary>
/// `distill export`: a model folder (plus a PEFT adapter) to
/// hf — one plain Hugging Face folder, the adapter merged (merge_and_unload): config.json, model.safetensors (f32, f16 or
///      bf16), the tokenizer files, chat_template.jinja when the source has one, and generation_config.json (the source's,
///      else the one transformers derives from the config: GenerationConfig.from_model_config);
/// peft — the adapter alone in PEFT's layout (adapter_config.json + adapter_model.safetensors), after checking it fits the model;
/// gguf — one GGUF v3 file llama.cpp runs (<see cref="GgufExport"/>), the adapter merged first.
/// </summary>
public static class ModelExport
{
    public static ExportResult Run(ExportFormat format, string modelDir, string? adapterDir, string outPath, string dtype, Action<string>? log = null)
    {
        if (format == ExportFormat.Peft && adapterDir is null) throw new ArgumentException("--format peft exports an adapter: give --adapter DIR");
        using var model = ModelIO.Load(modelDir, log);
        LoraConfig? lora = adapterDir is null ? null : LoraModel.Load(model, adapterDir);
        int adapted = LoraModel.Branches(model).Count();
        switch (format)
        {
            case ExportFormat.Peft:
            {
                LoraModel.Save(model, lora!, outPath, SafetensorsDTypeOf(dtype));
                return new ExportResult(outPath, $"PEFT adapter: {adapted} LoRA modules (r {lora!.R}, alpha {lora.LoraAlpha}) → {outPath}", []);
            }
            case ExportFormat.Hf:
            {
                var d = SafetensorsDTypeOf(dtype);
                LoraModel.MergeAndUnload(model);
                ModelIO.Save(model, outPath, d);
                CopyTokenizerAndGeneration(modelDir, outPath, model.Config);
                string merged = adapted > 0 ? $", {adapted} LoRA modules merged" : "";
                return new ExportResult(outPath, $"Hugging Face folder: {model.Config.Architecture}, {dtype}{merged} → {outPath}", []);
            }
            default:
            {
                LoraModel.MergeAndUnload(model);
                var r = GgufExport.Write(model, modelDir, outPath, dtype, name: new DirectoryInfo(modelDir).Name);
                string types = string.Join(", ", r.TensorsByType.OrderBy(p => p.Key).Select(p => $"{p.Value} {p.Key}"));
                string merged = adapted > 0 ? $", {adapted} LoRA modules merged" : "";
                return new ExportResult(outPath, $"GGUF v3: architecture {r.Architecture}, {r.FileType} ({types} tensors){merged} → {outPath}", r.Caveats);
            }
        }
    }

    public static ExportFormat ParseFormat(string s) => s switch
    {
        "hf" => ExportFormat.Hf,
        "peft" => ExportFormat.Peft,
        "gguf" => ExportFormat.Gguf,
        _ => throw new ArgumentException($"--format must be hf, peft or gguf, got '{s}'"),
    };

    static SafetensorsDType SafetensorsDTypeOf(string dtype) => dtype switch
    {
        "f32" => SafetensorsDType.F32,
        "f16" => SafetensorsDType.F16,
        "bf16" => SafetensorsDType.BF16,
        _ => throw new ArgumentException($"--dtype '{dtype}' is for GGUF only; safetensors exports take f32, f16 or bf16"),
    };

    static void CopyTokenizerAndGeneration(string modelDir, string outDir, ModelConfig c)
    {
        TokenizerFiles.CopyTo(modelDir, outDir);
        var jinja = Path.Combine(modelDir, "chat_template.jinja");
        if (File.Exists(jinja)) File.Copy(jinja, Path.Combine(outDir, "chat_template.jinja"), overwrite: true);
        var gen = Path.Combine(modelDir, "generation_config.json");
        var target = Path.Combine(outDir, "generation_config.json");
        if (File.Exists(gen)) { File.Copy(gen, target, overwrite: true); return; }
        // transformers' GenerationConfig.from_model_config: the special-token ids of config.json
        var json = new JsonObject { ["_from_model_config"] = true };
        if (c.BosTokenId is int bos) json["bos_token_id"] = bos;
        if (c.EosTokenIds.Length == 1) json["eos_token_id"] = c.EosTokenIds[0];
        else if (c.EosTokenIds.Length > 1) json["eos_token_id"] = new JsonArray(c.EosTokenIds.Select(e => (JsonNode?)e).ToArray());
        if (c.PadTokenId is int pad) json["pad_token_id"] = pad;
        File.WriteAllText(target, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Distill.Models.Formats;

namespace Distill.Models.Lora;

/// <summary>
/// A LoRA adapter's settings as PEFT's `adapter_config.json` holds them (peft LoraConfig): y = W x + s·B A dropout(x)
/// with s = lora_alpha / r, or lora_alpha / √r with rsLoRA (Kalajdzievski 2023). Options PEFT has and Distill does not
/// implement (DoRA, per-module rank/alpha patterns, biases, modules_to_save) are rejected by name when loading.
/// </summary>
public sealed record LoraConfig
{
    public int R { get; init; } = 8;
    public double LoraAlpha { get; init; } = 8;
    public double LoraDropout { get; init; }
    /// <summary>Module names (matched as the last components of a module path, PEFT's list semantics).</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "v_proj"];
    /// <summary>When set, a regular expression that must match the whole module path (PEFT's string semantics).</summary>
    public string? TargetModulesRegex { get; init; }
    public bool UseRslora { get; init; }
    public bool FanInFanOut { get; init; }
    public string? BaseModelNameOrPath { get; init; }

    public double Scaling => UseRslora ? LoraAlpha / Math.Sqrt(R) : LoraAlpha / R;

    public void Validate()
    {
        if (R <= 0) throw new ArgumentException($"LoRA rank r must be positive, got {R}");
        if (LoraDropout is < 0 or >= 1) throw new ArgumentException($"lora_dropout must be in [0, 1), got {LoraDropout}");
        if (TargetModulesRegex is null && TargetModules.Count == 0) throw new ArgumentException("target_modules is empty");
    }

    /// <summary>PEFT's `check_target_module_exists`: a list entry matches the whole path or its trailing components; a string is a full-match regex.</summary>
    public bool Targets(string modulePath)
    {
        if (TargetModulesRegex is not null) return Regex.IsMatch(modulePath, $"^(?:{TargetModulesRegex})$");
        foreach (var t in TargetModules)
            if (modulePath == t || modulePath.EndsWith("." + t, StringComparison.Ordinal)) return true;
        return false;
    }

    public JsonObject ToJson() => new()
    {
        ["peft_type"] = "LORA",
        ["task_type"] = "CAUSAL_LM",
        ["r"] = R,
        ["lora_alpha"] = LoraAlpha,
        ["lora_dropout"] = LoraDropout,
        ["target_modules"] = TargetModulesRegex is not null ? TargetModulesRegex : new JsonArray(TargetModules.Select(t => (JsonNode?)t).ToArray()),
        ["bias"] = "none",
        ["use_rslora"] = UseRslora,
        ["fan_in_fan_out"] = FanInFanOut,
        ["base_model_name_or_path"] = BaseModelNameOrPath,
        ["inference_mode"] = true,
        ["init_lora_weights"] = true,
        ["modules_to_save"] = null,
        ["use_dora"] = false,
    };

    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, CheckpointNames.AdapterConfig);
        File.WriteAllText(path + ".tmp", ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public static LoraConfig Load(string dirOrFile)
    {
        var file = Directory.Exists(dirOrFile) ? Path.Combine(dirOrFile, CheckpointNames.AdapterConfig) : dirOrFile;
        if (!File.Exists(file)) throw new ModelFormatException($"{file}: no adapter_config.json");
        var r = ConfigJsonReader.Load(file);
        string peftType = r.String("peft_type", "");
        if (peftType != "LORA") throw new ModelFormatException($"{file}: 'peft_type' is '{peftType}'; only LORA adapters are supported");
        string bias = r.String("bias", "none");
        if (bias != "none") throw new ModelFormatException($"{file}: 'bias' = '{bias}' is not supported (only \"none\")");
        string task = r.String("task_type", "CAUSAL_LM");
        if (task != "CAUSAL_LM") throw new ModelFormatException($"{file}: 'task_type' = '{task}' is not supported (only CAUSAL_LM)");
        r.RequireDefault("use_dora", false);
        foreach (var key in new[] { "rank_pattern", "alpha_pattern" })
            if (r.Json[key] is JsonObject { Count: > 0 }) throw new ModelFormatException($"{file}: '{key}' (per-module rank or alpha) is not supported");
        if (r.Json["modules_to_save"] is JsonArray { Count: > 0 }) throw new ModelFormatException($"{file}: 'modules_to_save' is not supported");
        if (r.Json["layers_to_transform"] is not null) throw new ModelFormatException($"{file}: 'layers_to_transform' is not supported");
        // peft ≥ 0.14: modules excluded from target_modules, and a bias on lora_B
        if (r.Json["exclude_modules"] is JsonArray { Count: > 0 } or JsonValue) throw new ModelFormatException($"{file}: 'exclude_modules' is not supported");
        r.RequireDefault("lora_bias", false);
        IReadOnlyList<string> targets = [];
        string? regex = null;
        switch (r.Json["target_modules"])
        {
            case JsonArray arr:
                targets = arr.Select((n, i) => n is JsonValue v && v.TryGetValue(out string? s) ? s
                    : throw new ModelFormatException($"{file}: 'target_modules[{i}]' must be a string")).ToList();
                break;
            case JsonValue v when v.TryGetValue(out string? s):
                regex = s;
                break;
            default:
                throw new ModelFormatException($"{file}: 'target_modules' must be a list of module names or a regular expression");
        }
        var config = new LoraConfig
        {
            R = r.Int("r", 8),
            LoraAlpha = r.Double("lora_alpha", 8),
            LoraDropout = r.Double("lora_dropout", 0),
            TargetModules = targets,
            TargetModulesRegex = regex,
            UseRslora = r.Bool("use_rslora", false),
            FanInFanOut = r.Bool("fan_in_fan_out", false),
            BaseModelNameOrPath = r.Json["base_model_name_or_path"] is null ? null : r.String("base_model_name_or_path", ""),
        };
        try { config.Validate(); }
        catch (ArgumentException e) { throw new ModelFormatException($"{file}: {e.Message}"); }
        return config;
    }
}

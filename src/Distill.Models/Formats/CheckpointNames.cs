namespace Distill.Models.Formats;

/// <summary>File names of a Hugging Face model folder (transformers' `SAFE_WEIGHTS_NAME` and friends).</summary>
public static class CheckpointNames
{
    public const string Single = "model.safetensors";
    public const string Index = "model.safetensors.index.json";
    public const string Config = "config.json";
    public const string AdapterConfig = "adapter_config.json";
    public const string AdapterWeights = "adapter_model.safetensors";

    public static string Shard(int i, int n) => $"model-{i:D5}-of-{n:D5}.safetensors";
}

namespace Distill.Models.Formats;

/// <summary>
/// A model file (safetensors, its shard index, config.json or adapter_config.json) is malformed
/// or does not match what the architecture expects. The message names the file and, where there is
/// one, the tensor or key.
/// </summary>
public sealed class ModelFormatException(string message) : Exception(message);

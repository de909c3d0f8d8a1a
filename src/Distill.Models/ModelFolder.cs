using Distill.Models.Formats;

namespace Distill.Models;

/// <summary>`distill init`: a freshly initialized model saved as a Hugging Face folder.</summary>
public static class ModelFolder
{
    /// <summary>Resolves a preset name or a config.json path; the vocabulary follows the tokenizer unless the shape fixes it.</summary>
    public static ModelConfig ResolveConfig(string presetOrPath, string? tokenizer)
    {
        bool isPreset = ModelPresets.Names.Contains(presetOrPath);
        var config = isPreset ? ModelPresets.Get(presetOrPath)
            : File.Exists(presetOrPath) || Directory.Exists(presetOrPath) ? ConfigJson.Load(presetOrPath)
            : throw new ArgumentException($"--config '{presetOrPath}' is neither a preset ({string.Join(", ", ModelPresets.Names)}) nor a config.json");
        if (tokenizer is null) return config;
        int vocab = TokenizerFiles.VocabSize(tokenizer);
        bool fixedVocab = isPreset ? ModelPresets.FixesVocab(presetOrPath) : ConfigJsonReader.Load(Directory.Exists(presetOrPath) ? Path.Combine(presetOrPath, CheckpointNames.Config) : presetOrPath).Has("vocab_size");
        if (!fixedVocab) return ModelPresets.WithVocab(config, vocab);
        if (vocab > config.VocabSize)
            throw new ArgumentException($"the tokenizer has {vocab} tokens but the config fixes vocab_size = {config.VocabSize}");
        return config;
    }

    /// <summary>Initializes, saves weights + config.json (+ tokenizer files) into <paramref name="outDir"/>; returns the model's parameter count.</summary>
    public static long Init(ModelConfig config, string? tokenizer, string outDir, ulong seed, SafetensorsDType dtype)
    {
        using var model = ModelIO.Create(config);
        ModelInit.Initialize(model, seed);
        ModelIO.Save(model, outDir, dtype);
        if (tokenizer is not null) TokenizerFiles.CopyTo(tokenizer, outDir);
        return model.ParameterCount;
    }
}

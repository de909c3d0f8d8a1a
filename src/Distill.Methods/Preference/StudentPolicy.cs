using Distill.Models;
using Distill.Models.Lora;

namespace Distill.Methods.Preference;

/// <summary>
/// The student as a policy under training: the base folder (NF4-quantized for QLoRA, as DPO-KD §4.1.3 trains Phi-2),
/// a fresh LoRA adapter, or the adapter of a previous round/iteration loaded onto it. With the adapter switched off
/// it is the frozen reference of DPO (PEFT's disable_adapter; SequenceScorer does that).
/// </summary>
public static class StudentPolicy
{
    /// <param name="adapterDir">a PEFT adapter folder to continue from (null = a fresh adapter, B = 0, so the policy starts at the base).</param>
    /// <param name="lora">null = train every weight (then <paramref name="adapterDir"/> must be null and QLoRA off).</param>
    /// <param name="weights">the weights its sampling runs on: q8 puts 8-bit copies of the frozen base beside the float adapter
    /// (CausalLM.UseInferenceWeights); training passes and the DPO reference keep the float weights. Without an adapter every
    /// weight trains, so nothing is quantized (a copy would go stale after the first step).</param>
    public static CausalLM Load(string modelDir, LoraConfig? lora, bool qlora, string? adapterDir, ulong seed, InferenceWeights weights = InferenceWeights.F32)
    {
        if (lora is null && (qlora || adapterDir is not null))
            throw new ArgumentException("QLoRA and continuing from an adapter need a LoRA adapter (lora r > 0)");
        var model = ModelIO.Load(modelDir);
        try
        {
            if (lora is null) return model;
            if (qlora) LoraModel.QuantizeBase(model);
            LoraModel.Apply(model, lora, seed);
            if (adapterDir is not null) LoraModel.Load(model, adapterDir, seed);
            model.UseInferenceWeights(weights);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}

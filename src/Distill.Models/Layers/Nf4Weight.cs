using Distill.Models.Quantization;
using Distill.Tensors.Autograd;

namespace Distill.Models.Layers;

/// <summary>A frozen NF4 weight seen by the engine's Linear as rows of float32, dequantized tile by tile (QLoRA).</summary>
public sealed class Nf4Weight(Nf4Tensor tensor) : IWeightProvider
{
    readonly float[] _absmax = tensor.BlockAbsmax(); // (blocks) double-dequantized once: 1/64 of a float per weight

    public Nf4Tensor Tensor { get; } = tensor;
    public int OutFeatures => Tensor.Rows;
    public int InFeatures => Tensor.Cols;

    public void ReadRows(int row0, int count, Span<float> dst) => Tensor.DequantizeRows(row0, dst[..(count * InFeatures)], _absmax);

    /// <summary>Bytes held: packed codes, 8-bit absmax codes, their fp32 scales and offset, plus the cached fp32 block absmax.</summary>
    public long Bytes => Tensor.StoredBytes + 4L * _absmax.Length;
}

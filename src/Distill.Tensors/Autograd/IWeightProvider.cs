namespace Distill.Tensors.Autograd;

/// <summary>
/// A frozen weight W (OutFeatures × InFeatures, PyTorch's [out, in] layout) that is not stored as
/// float32 — e.g. NF4 blocks for QLoRA — and is dequantised a tile of rows at a time inside
/// <see cref="Ops.Linear"/>, so the full float matrix never exists. Frozen: it never gets a gradient.
/// </summary>
public interface IWeightProvider
{
    int OutFeatures { get; }
    int InFeatures { get; }

    /// <summary>Writes rows [row0, row0 + count) of W into dst: (count, InFeatures), row-major.</summary>
    void ReadRows(int row0, int count, Span<float> dst);
}

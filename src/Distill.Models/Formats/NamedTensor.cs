namespace Distill.Models.Formats;

/// <summary>A float32 tensor to be saved under its checkpoint name. Shape in PyTorch order.</summary>
public sealed record NamedTensor(string Name, long[] Shape, ReadOnlyMemory<float> Data)
{
    public NamedTensor(string name, int[] shape, ReadOnlyMemory<float> data) : this(name, shape.Select(d => (long)d).ToArray(), data) { }
}

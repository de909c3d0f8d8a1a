namespace Distill.Tensors.Autograd;

/// <summary>
/// A named weight: a persistent tensor plus, when trainable, a persistent gradient of the same
/// shape. Frozen parameters hold no gradient buffer at all (LoRA/QLoRA base weights), and ops skip
/// the gradient GEMMs for them.
/// </summary>
public sealed class Parameter : IDisposable
{
    public string Name { get; }
    public Tensor Value { get; }
    public Tensor? Grad => Value.Grad;

    public Parameter(string name, params ReadOnlySpan<int> shape)
    {
        Name = name;
        Value = Tensor.Create(shape);
        Value.Name = name;
        Trainable = true;
    }

    /// <summary>Setting false frees the gradient buffer; setting true allocates a zeroed one.</summary>
    public bool Trainable
    {
        get => Value.RequiresGrad;
        set
        {
            if (value == Value.RequiresGrad && (value == (Value.Grad is not null))) return;
            Value.RequiresGrad = value;
            Value.Grad?.Dispose();
            Value.Grad = value ? Tensor.Create(Value.Shape) : null;
        }
    }

    public Span<float> Span => Value.Span;
    public int Length => Value.Length;

    public void ZeroGrad() => Value.Grad?.Span.Clear();

    public static implicit operator Tensor(Parameter p) => p.Value;

    public override string ToString() => $"{Name} {Tensor.ShapeString(Value.Shape)}{(Trainable ? "" : " frozen")}";

    public void Dispose()
    {
        Value.Grad?.Dispose();
        Value.Dispose();
    }
}

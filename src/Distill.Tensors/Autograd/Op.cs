namespace Distill.Tensors.Autograd;

/// <summary>
/// A coarse fused op: a static Forward (in the op's own file) that computes its output, saves what
/// backward needs in a <see cref="TapeEntry"/> and records it; and this Backward, which reads the
/// output gradient and ADDS into its inputs' gradients (so fan-out and residuals need no extra op).
/// Each op is one sealed singleton class; <see cref="All"/> lists them, and a test fails when an op
/// has no finite-difference gradient check.
/// </summary>
public abstract class Op
{
    public abstract string Name { get; }

    /// <summary>Adds this op's contribution to the gradients of e's inputs; e.Out.Grad holds dL/dOut.</summary>
    public abstract void Backward(Tape tape, in TapeEntry e);

    /// <summary>Every op class in the engine (the registry the gradient-check coverage test walks).</summary>
    public static IReadOnlyList<string> All { get; } = typeof(Op).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(Op)) && !t.IsAbstract)
        .Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();

    public override string ToString() => Name;
}

namespace Distill.Tensors.Autograd;

/// <summary>
/// Records the ops of one forward pass and replays their backward in reverse. It also owns the
/// <see cref="Arena"/> every op output, saved buffer and activation gradient comes from.
/// One step: <c>tape.Reset(); logits = model(tape, …); loss = CrossEntropy.Forward(tape, …);
/// tape.Backward(loss); optimizer.Step();</c>. Parameter gradients are persistent and ADDED to,
/// so several forward/backward passes between optimizer steps accumulate (call ZeroGrad after the
/// step). With <see cref="NoGrad"/> set (generation, scoring), nothing is recorded and outputs
/// never require gradients. Not thread-safe: one tape per thread of control.
/// </summary>
public sealed class Tape : IDisposable
{
    TapeEntry[] _entries = new TapeEntry[256];
    int _count;

    public Arena Arena { get; } = new();

    /// <summary>Inference mode: ops compute outputs but record nothing.</summary>
    public bool NoGrad { get; set; }

    /// <summary>
    /// With <see cref="NoGrad"/>: this pass may run on a model's 8-bit inference copies of its frozen weights
    /// (CausalLM.UseInferenceWeights) — set by sampling and reward scoring, not by passes whose numbers must match
    /// training (a DPO reference's log-probs, validation loss), which keep the float weights.
    /// </summary>
    public bool InferenceWeights { get; set; }

    /// <summary>True when an op may use 8-bit inference weights: a forward-only pass that asked for them.</summary>
    public bool UsesInferenceWeights => NoGrad && InferenceWeights;

    public int Count => _count;

    /// <summary>Forgets the recorded ops and rewinds the arena (all its tensors become invalid).</summary>
    public void Reset()
    {
        Array.Clear(_entries, 0, _count); // drop references so nothing is kept alive by stale entries
        _count = 0;
        Arena.Reset();
        if (OpProfile.Enabled) OpProfile.Mark();
    }

    /// <summary>A fresh output tensor from the arena (contents undefined unless zero).</summary>
    public Tensor New(scoped ReadOnlySpan<int> shape, bool zero = false) => Arena.Alloc(shape, zero);

    public Tensor New(int d0)
    {
        Span<int> s = stackalloc int[1];
        s[0] = d0;
        return Arena.Alloc(s);
    }

    public Tensor New(int d0, int d1)
    {
        Span<int> s = stackalloc int[2];
        s[0] = d0; s[1] = d1;
        return Arena.Alloc(s);
    }

    /// <summary>True if an op with these inputs must be recorded (some input needs a gradient).</summary>
    public bool NeedsGrad(Tensor? a, Tensor? b = null, Tensor? c = null, Tensor? d = null)
        => !NoGrad && ((a?.RequiresGrad ?? false) || (b?.RequiresGrad ?? false) || (c?.RequiresGrad ?? false) || (d?.RequiresGrad ?? false));

    /// <summary>Appends e (e.Out is marked as requiring a gradient).</summary>
    public void Record(in TapeEntry e)
    {
        if (_count == _entries.Length) Array.Resize(ref _entries, _entries.Length * 2);
        e.Out.RequiresGrad = true;
        _entries[_count++] = e;
        if (OpProfile.Enabled) OpProfile.Forward(e.Op);
    }

    /// <summary>The gradient buffer of t (zero-filled from the arena on first use), or null if t needs none.</summary>
    public Tensor? GradOf(Tensor? t)
    {
        if (t is null || !t.RequiresGrad) return null;
        if (t.Grad is null)
        {
            var g = Arena.Alloc(t.Shape, zero: true);
            t.Grad = g;
        }
        return t.Grad;
    }

    /// <summary>
    /// The gradient buffer of t for an op that will write all of it: when the buffer does not exist yet it comes
    /// from the arena uncleared and <paramref name="fresh"/> is true, and the caller must OVERWRITE it (copy, or a GEMM
    /// with β = 0) instead of adding — which saves a memset and a read of every activation gradient's first writer.
    /// Otherwise it is <see cref="GradOf"/>'s buffer, to be added into.
    /// </summary>
    public Tensor? GradForWrite(Tensor? t, out bool fresh)
    {
        fresh = false;
        if (t is null || !t.RequiresGrad) return null;
        if (t.Grad is null)
        {
            t.Grad = Arena.Alloc(t.Shape);
            fresh = true;
        }
        return t.Grad;
    }

    /// <summary>
    /// For an op whose input gradient equals its output gradient (y = a + b: da = dy): when <paramref name="input"/> has
    /// no gradient yet, hand it the output's gradient buffer itself instead of zero-filling a new one and adding into it
    /// — every consumer of the output has already run, so nobody reads that buffer again. Returns false (nothing done)
    /// when the input already has a gradient, needs none, differs in shape, or the output is where backward started.
    /// </summary>
    public bool TakeOutputGrad(Tensor output, Tensor? input)
    {
        if (input is null || !input.RequiresGrad || input.Grad is not null || output.Grad is not { IsOwned: false } g) return false;
        if (!input.SameShape(output) || ReferenceEquals(output, _backwardFrom)) return false;
        input.Grad = g;
        output.Grad = null;
        return true;
    }

    Tensor? _backwardFrom;

    /// <summary>Backward from a scalar loss: dL/dloss = seed (e.g. 1/accumulationSteps).</summary>
    public void Backward(Tensor loss, float seed = 1f)
    {
        if (loss.Length != 1) throw new ArgumentException($"Backward(loss): loss must have one element, got {Tensor.ShapeString(loss.Shape)}; use Backward(output, seedGrad)");
        Span<float> s = stackalloc float[1];
        s[0] = seed;
        Backward(loss, s);
    }

    /// <summary>
    /// Backward from any output with a given gradient dL/dOutput (same length). Gradients of
    /// intermediate outputs are released (set to null) as soon as their op's backward has run, so
    /// only leaf gradients (parameters, inputs) and the output's own survive.
    /// </summary>
    public void Backward(Tensor output, ReadOnlySpan<float> seedGrad)
    {
        if (NoGrad) throw new InvalidOperationException("Backward called on a tape in NoGrad mode");
        if (!output.RequiresGrad) throw new InvalidOperationException($"Backward: {output} does not depend on any trainable parameter");
        if (seedGrad.Length != output.Length) throw new ArgumentException($"Backward: seed has {seedGrad.Length} values, output {output.Length}");
        var g = GradOf(output)!;
        for (int i = 0; i < seedGrad.Length; i++) g.Span[i] += seedGrad[i];
        _backwardFrom = output;
        for (int i = _count - 1; i >= 0; i--)
        {
            ref readonly var e = ref _entries[i];
            if (e.Out.Grad is null) continue; // nothing downstream used this output
            if (OpProfile.Enabled)
            {
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                e.Op.Backward(this, in e);
                OpProfile.Backward(e.Op, t0);
            }
            else e.Op.Backward(this, in e);
            // Every consumer of e.Out was recorded later and has run: its gradient is dead. Reuse it — unless the op
            // handed the buffer on to an input (TakeOutputGrad), which leaves e.Out.Grad null.
            if (e.Out.Grad is { IsOwned: false } dead && !ReferenceEquals(dead, output) && !ReferenceEquals(e.Out, output))
            {
                Arena.Release(dead);
                e.Out.Grad = null;
            }
        }
    }

    public void Dispose() => Arena.Dispose();
}

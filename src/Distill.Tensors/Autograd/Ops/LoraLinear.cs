using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// A linear layer with its LoRA branch fused in (Hu et al. 2021, Eq. 3; PEFT lora.Linear without dropout):
///   y = x Wᵀ + b + s · (x Aᵀ) Bᵀ,   A: (r, in), B: (out, r), h = x Aᵀ: (…, r).
/// The branch's product is accumulated straight into the base output by a GEMM with β = 1, so the unfused
/// chain's three (…, out) intermediates — B's output, its scaled copy and the sum — and the Scale and Add
/// passes over them, forward and backward, are gone. Backward, with dy = dL/dy:
///   dh = s · dy B;  dB += s · dyᵀ h;  dA += dhᵀ x;  dx += dy W + dh A;  dW += dyᵀ x (dense, trainable W);  db += Σ dy.
/// W is dense or a frozen provider (QLoRA's NF4, dequantised per tile), as in <see cref="Linear"/>.
/// Slots: A = x, B = W (dense) or X = provider, C = bias, D = lora A, Y = lora B, S0 = provider tile, S1 = h, F0 = s.
/// </summary>
public sealed class LoraLinear : Op
{
    static readonly LoraLinear Instance = new();
    public override string Name => nameof(LoraLinear);

    public static Tensor Forward(Tape tape, Tensor x, Tensor w, Tensor? bias, Tensor loraA, Tensor loraB, float scale)
    {
        Validate(x, w.Rows, w.Cols, bias, loraA, loraB, string.IsNullOrEmpty(w.Name) ? "" : w.Name);
        var y = Linear.NewOut(tape, x, w.Rows);
        Linear.BaseForward(x, w, null, bias, y, null);
        return AddBranch(tape, new TapeEntry { Op = Instance, Out = y, A = x, B = w, C = bias, D = loraA, Y = loraB, F0 = scale });
    }

    /// <summary>The same with a frozen, non-float W (QLoRA: NF4 dequantised 64 rows at a time).</summary>
    public static Tensor Forward(Tape tape, Tensor x, IWeightProvider w, Tensor? bias, Tensor loraA, Tensor loraB, float scale)
    {
        Validate(x, w.OutFeatures, w.InFeatures, bias, loraA, loraB, "(provider)");
        var y = Linear.NewOut(tape, x, w.OutFeatures);
        var tile = Linear.NewTile(tape, w);
        Linear.BaseForward(x, null, w, bias, y, tile);
        return AddBranch(tape, new TapeEntry { Op = Instance, Out = y, A = x, X = w, C = bias, D = loraA, Y = loraB, S0 = tile, F0 = scale });
    }

    static void Validate(Tensor x, int outF, int inF, Tensor? bias, Tensor a, Tensor b, string? name)
    {
        if (x.Cols != inF) throw new ArgumentException($"LoraLinear{Named(name)}: x has {x.Cols} features, W expects {inF}");
        if (bias is not null && bias.Length != outF) throw new ArgumentException($"LoraLinear{Named(name)}: bias has {bias.Length} values, W has {outF} rows");
        if (a.Rank != 2 || a.Cols != inF || b.Rank != 2 || b.Rows != outF || b.Cols != a.Rows)
            throw new ArgumentException($"LoraLinear{Named(name)}: lora A {Tensor.ShapeString(a.Shape)} and B {Tensor.ShapeString(b.Shape)} do not fit W ({outF}, {inF}): A must be (r, {inF}) and B ({outF}, r)");
    }

    static string Named(string? name) => string.IsNullOrEmpty(name) ? "" : " " + name;

    /// <summary>h = x Aᵀ; y += s · h Bᵀ (β = 1 into the base output); records the entry when anything needs a gradient.</summary>
    static Tensor AddBranch(Tape tape, TapeEntry e)
    {
        Tensor x = e.A!, a = e.D!, b = (Tensor)e.Y!, y = e.Out;
        int rows = x.Rows, inF = x.Cols, outF = y.Cols, r = a.Rows;
        var h = tape.New(rows, r);
        Gemm.Sgemm(false, true, rows, r, inF, 1f, x.Span, inF, a.Span, inF, 0f, h.Span, r);
        Gemm.Sgemm(false, true, rows, outF, r, e.F0, h.Span, r, b.Span, r, 1f, y.Span, outF);
        if (tape.NeedsGrad(x, e.B, e.C, a) || tape.NeedsGrad(b))
        {
            e.S1 = h;
            tape.Record(e);
        }
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        Tensor x = e.A!, dy = e.Out.Grad!, a = e.D!, b = (Tensor)e.Y!, h = e.S1!;
        int rows = x.Rows, inF = x.Cols, outF = dy.Cols, r = a.Rows;
        float s = e.F0;
        // The base: dx (overwritten by its first writer), dW, db.
        Linear.BaseBackward(tape, x, dy, e.B, e.X as IWeightProvider, e.S0, e.C);
        var dA = tape.GradOf(a);
        var dx = tape.GradOf(x); // already written by the base, so no fresh buffer here
        var dB = tape.GradOf(b);
        if (dB is not null) Gemm.Sgemm(true, false, outF, r, rows, s, dy.Span, outF, h.Span, r, 1f, dB.Span, r);
        if (dA is null && dx is null) return;
        var dh = tape.New(rows, r);
        Gemm.Sgemm(false, false, rows, r, outF, s, dy.Span, outF, b.Span, r, 0f, dh.Span, r);
        if (dA is not null) Gemm.Sgemm(true, false, r, inF, rows, 1f, dh.Span, r, x.Span, inF, 1f, dA.Span, inF);
        if (dx is not null) Gemm.Sgemm(false, false, rows, inF, r, 1f, dh.Span, r, a.Span, inF, 1f, dx.Span, inF);
        tape.Arena.Release(dh);
    }
}

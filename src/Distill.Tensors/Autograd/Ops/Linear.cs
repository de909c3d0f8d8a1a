using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// y = x Wᵀ + b with W stored (out, in) as PyTorch's nn.Linear. x: (…, in) → y: (…, out).
/// Backward: dx += dy W;  dW += dyᵀ x (skipped when W is frozen);  db += Σ dy.
/// Slots: A = x, B = W (dense) or X = IWeightProvider (frozen, dequantised per tile), C = bias.
/// </summary>
public sealed class Linear : Op
{
    static readonly Linear Instance = new();
    public override string Name => nameof(Linear);
    const int ProviderTileRows = 64; // rows of W dequantised at once: 64 × in floats stay in L2

    public static Tensor Forward(Tape tape, Tensor x, Tensor w, Tensor? bias = null)
    {
        int inF = w.Cols, outF = w.Rows;
        if (x.Cols != inF) throw new ArgumentException($"Linear {w.Name}: x has {x.Cols} features, W {Tensor.ShapeString(w.Shape)} expects {inF}");
        if (bias is not null && bias.Length != outF) throw new ArgumentException($"Linear {w.Name}: bias has {bias.Length} values, W has {outF} rows");
        var y = NewOut(tape, x, outF);
        BaseForward(x, w, null, bias, y, null);
        if (tape.NeedsGrad(x, w, bias)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, B = w, C = bias });
        return y;
    }

    /// <summary>y = x Wᵀ + b with a frozen, non-float W (e.g. NF4), dequantised 64 rows at a time.</summary>
    public static Tensor Forward(Tape tape, Tensor x, IWeightProvider w, Tensor? bias = null)
    {
        int inF = w.InFeatures, outF = w.OutFeatures;
        if (x.Cols != inF) throw new ArgumentException($"Linear (provider): x has {x.Cols} features, W expects {inF}");
        var y = NewOut(tape, x, outF);
        var tile = NewTile(tape, w);
        BaseForward(x, null, w, bias, y, tile);
        if (tape.NeedsGrad(x, bias)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, C = bias, X = w, S0 = tile });
        return y;
    }

    /// <summary>y = x Wᵀ + b, overwriting y; W dense, or read from the provider through tile (ProviderTileRows × in).</summary>
    internal static void BaseForward(Tensor x, Tensor? w, IWeightProvider? provider, Tensor? bias, Tensor y, Tensor? tile)
    {
        int rows = x.Rows, inF = x.Cols, outF = y.Cols;
        if (provider is null) Gemm.Sgemm(false, true, rows, outF, inF, 1f, x.Span, inF, w!.Span, inF, 0f, y.Span, outF, Frozen(w)?.Forward);
        else
            for (int r0 = 0; r0 < outF; r0 += ProviderTileRows)
            {
                int n = Math.Min(ProviderTileRows, outF - r0);
                provider.ReadRows(r0, n, tile!.Span[..(n * inF)]);
                // y[:, r0:r0+n] = x · tileᵀ (ldc = outF writes the column block in place)
                Gemm.Sgemm(false, true, rows, n, inF, 1f, x.Span, inF, tile.Span, inF, 0f, y.Span[r0..], outF);
            }
        if (bias is not null) LinearKernels.AddBias(y.Span, bias.Span);
    }

    /// <summary>W's packed operands while W is frozen (a trainable W changes every step, so its panels would be stale).</summary>
    static PackedLinearWeight? Frozen(Tensor w) => w.RequiresGrad ? null : w.Packed;

    internal static Tensor NewTile(Tape tape, IWeightProvider w) => tape.New(ProviderTileRows, w.InFeatures);

    internal static Tensor NewOut(Tape tape, Tensor x, int outF)
    {
        Span<int> shape = stackalloc int[x.Rank];
        x.Shape.CopyTo(shape);
        shape[^1] = outF;
        return tape.New(shape);
    }

    public override void Backward(Tape tape, in TapeEntry e) => BaseBackward(tape, e.A!, e.Out.Grad!, e.B, e.X as IWeightProvider, e.S0, e.C);

    /// <summary>dx += dy W (the first writer overwrites); dW += dyᵀ x when W is dense and trainable; db += Σ dy.</summary>
    internal static void BaseBackward(Tape tape, Tensor x, Tensor dy, Tensor? w, IWeightProvider? provider, Tensor? tile, Tensor? bias)
    {
        int rows = x.Rows, inF = x.Cols, outF = dy.Cols;
        var dx = tape.GradForWrite(x, out bool fresh);
        if (provider is { } p)
        {
            if (dx is not null)
                for (int r0 = 0; r0 < outF; r0 += ProviderTileRows)
                {
                    int n = Math.Min(ProviderTileRows, outF - r0);
                    p.ReadRows(r0, n, tile!.Span[..(n * inF)]);
                    // dx += dy[:, r0:r0+n] · tile   (dy column block read with ld = outF); a fresh dx is overwritten by the first tile
                    Gemm.Sgemm(false, false, rows, inF, n, 1f, dy.Span[r0..], outF, tile.Span, inF, fresh && r0 == 0 ? 0f : 1f, dx.Span, inF);
                }
        }
        else
        {
            if (dx is not null) Gemm.Sgemm(false, false, rows, inF, outF, 1f, dy.Span, outF, w!.Span, inF, fresh ? 0f : 1f, dx.Span, inF, Frozen(w!)?.Backward);
            var dw = tape.GradOf(w);
            if (dw is not null) Gemm.Sgemm(true, false, outF, inF, rows, 1f, dy.Span, outF, x.Span, inF, 1f, dw.Span, inF);
        }
        var db = tape.GradOf(bias);
        if (db is not null) LinearKernels.BiasBackward(dy.Span, db.Span);
    }
}

using System.Runtime.CompilerServices;

namespace Distill.Tensors.Kernels;

/// <summary>
/// op(B) of many GEMM calls packed once into the packed GEMM's B panels (<see cref="Gemm"/>'s loop nest, GemmPacked.cs):
/// for each K block pc of the calls' KC blocking, every NR-wide column panel, kc × NR floats, at
/// base + pc·panels·NR + panel·kc·NR. A block (jc, pc) of a call is then a pointer into it, and the call skips the
/// packing its B would otherwise cost — for a frozen weight W (PyTorch's [out, in]) of LoRA training, where each step
/// packs W's forward operand (op(B) = Wᵀ, an 8×8 transpose per 64 floats) and its backward one (op(B) = W for dX = dY·W)
/// anew, ≈ 6 % of a DPO step's cycles on the SmolLM2-135M shape (perf, docs/performance.md Session 14).
/// The panels are what the call would have packed, bit for bit, and the micro-kernel and its K blocks are the same, so
/// a product with a packed B equals the unpacked call exactly (GemmPackedBTests).
/// Memory: one more copy of op(B), 4 bytes per element (plus edge padding to NR columns).
/// The copy is of B as it was when packed: the owner must drop it when B changes (<see cref="Tensor.Packed"/>).
/// </summary>
public sealed unsafe class GemmPackedB
{
    /// <summary>op(B)'s rows (the products' K) and columns (N).</summary>
    public int K { get; }
    public int N { get; }
    /// <summary>The micro-kernel the panels are laid out for; a call that picks another ISA packs as usual.</summary>
    internal GemmIsa Isa { get; }
    /// <summary>The K blocking the panels were cut for (Gemm.KcMaxFor(K): the calls' own, KC being fixed per process).</summary>
    internal int KcMax { get; }
    internal int Panels { get; }
    public long Bytes => BytesFor(K, N);

    static GemmIsa IsaFor(int n) => GemmIsaSelect.For(64, n);

    /// <summary>The bytes <see cref="Pack"/> would take for op(B) k × n.</summary>
    public static long BytesFor(int k, int n)
    {
        int nr = MicroKernel.Tile(IsaFor(n)).Nr;
        return 4L * ((n + nr - 1) / nr) * nr * k;
    }

    readonly float[] _store; // pinned; the panels start 64-byte aligned at _p
    readonly float* _p;

    GemmPackedB(int k, int n, GemmIsa isa)
    {
        K = k;
        N = n;
        Isa = isa;
        int nr = MicroKernel.Tile(isa).Nr;
        KcMax = Gemm.KcMaxFor(k);
        Panels = (n + nr - 1) / nr;
        long floats = (long)Panels * nr * k;
        if (floats + 16 > Array.MaxLength) throw new ArgumentException($"GemmPackedB: op(B) {k}×{n} is too large for one array");
        _store = GC.AllocateUninitializedArray<float>((int)floats + 16, pinned: true);
        _p = (float*)(((nuint)Unsafe.AsPointer(ref _store[0]) + 63) & ~(nuint)63);
    }

    /// <summary>
    /// Packs op(B) (k × n): B stored k×n (row stride ldb) or, with <paramref name="transB"/>, n×k — the [out, in] weight
    /// of y = x Wᵀ. For the micro-kernel the packed GEMM picks for products of more than 6 rows (training's and
    /// prefill's; a call with fewer packs B as usual).
    /// </summary>
    public static GemmPackedB Pack(bool transB, int k, int n, ReadOnlySpan<float> b, int ldb)
    {
        if (k < 1 || n < 1) throw new ArgumentException($"GemmPackedB: op(B) must be non-empty, got {k}×{n}");
        if (b.Length < (transB ? (long)(n - 1) * ldb + k : (long)(k - 1) * ldb + n))
            throw new ArgumentException($"GemmPackedB: {b.Length} values cannot hold op(B) {k}×{n} with row stride {ldb}");
        var packed = new GemmPackedB(k, n, IsaFor(n));
        fixed (float* pb = b)
        {
            var problem = new Gemm.Problem(false, transB, 1, n, k, 1f, null, k, pb, ldb, 0f, null, n) { Isa = packed.Isa };
            for (int pc = 0; pc < k; pc += packed.KcMax)
            {
                int kc = Math.Min(packed.KcMax, k - pc);
                var block = new Gemm.Block(problem, 0, n, pc, kc, null, null);
                Gemm.PackB(block, packed.BlockPanels(pc, 0), 0, packed.Panels);
            }
        }
        return packed;
    }

    /// <summary>Block (jc, pc)'s panels as the loop nest reads them: panel j of the block at the result + j·kc·NR.</summary>
    internal float* BlockPanels(int pc, int jc)
    {
        int nr = MicroKernel.Tile(Isa).Nr, kc = Math.Min(KcMax, K - pc);
        return _p + (long)pc * Panels * nr + (long)(jc / nr) * kc * nr;
    }

    /// <summary>Unpacks op(B) (k × n, row-major) — tests.</summary>
    public void Unpack(Span<float> dst)
    {
        if (dst.Length != (long)K * N) throw new ArgumentException($"GemmPackedB.Unpack: {dst.Length} values for {K}×{N}");
        int nr = MicroKernel.Tile(Isa).Nr;
        for (int pc = 0; pc < K; pc += KcMax)
        {
            int kc = Math.Min(KcMax, K - pc);
            for (int j = 0; j < Panels; j++)
            {
                float* panel = BlockPanels(pc, 0) + (long)j * kc * nr;
                for (int q = 0; q < kc; q++)
                    for (int c = 0; c < nr && j * nr + c < N; c++) dst[(pc + q) * N + j * nr + c] = panel[q * nr + c];
            }
        }
        GC.KeepAlive(_store);
    }
}

/// <summary>
/// A frozen linear weight W ([out, in], PyTorch's layout) packed for its products in training: the forward y = x·Wᵀ
/// (op(B) = Wᵀ, in × out) and the input gradient dx = dy·W (op(B) = W, out × in; absent when packed forward-only, for
/// a model that is never back-propagated through). A frozen W needs no dW, so these are all the GEMMs that read it.
/// Each is W's size again in memory.
/// </summary>
public sealed class PackedLinearWeight
{
    public GemmPackedB Forward { get; }
    public GemmPackedB? Backward { get; }
    public long Bytes => Forward.Bytes + (Backward?.Bytes ?? 0);

    PackedLinearWeight(GemmPackedB forward, GemmPackedB? backward) { Forward = forward; Backward = backward; }

    /// <summary>Packs w (rows = out, cols = in).</summary>
    public static PackedLinearWeight Pack(ReadOnlySpan<float> w, int outFeatures, int inFeatures, bool forwardOnly = false)
        => new(GemmPackedB.Pack(transB: true, inFeatures, outFeatures, w, inFeatures),
            forwardOnly ? null : GemmPackedB.Pack(transB: false, outFeatures, inFeatures, w, inFeatures));

    /// <summary>The packed size of a [out, in] weight, before packing it.</summary>
    public static long BytesFor(int outFeatures, int inFeatures, bool forwardOnly = false)
        => GemmPackedB.BytesFor(inFeatures, outFeatures) + (forwardOnly ? 0 : GemmPackedB.BytesFor(outFeatures, inFeatures));
}

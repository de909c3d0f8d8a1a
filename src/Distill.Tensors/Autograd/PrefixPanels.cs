using Distill.Tensors.Threading;

namespace Distill.Tensors.Autograd;

/// <summary>
/// One layer's shared prompt keys transposed into the GEMM micro-kernel's B panels, and its values cut into the same
/// kernel's 32-column panels, packed once after the prefill and read at every decoding step by the shared-prefix scores
/// and values (DecodeAttentionKernels.Grouped.cs, SharedScoresGemm and SharedValuesGemm). A cache stores keys
/// position-major (one key's dims side by side), where the micro-kernel wants the same dim of 32 keys side by side, and
/// a head's values 64 floats of a 192-float row, where it wants 32 contiguous per key; a prompt's keys and values meet
/// its samples' queries at every step, so the copies are paid once per prompt instead of once per step (the values'
/// copy was ≈ 3 % of a sampling step's CPU).
/// Keys, for prefix row r of length L and kv head h: ⌈L/32⌉ panels of hd × 32 floats, entry [d][x] = k_{32p+x}[h·hd + d]
/// (zero past L), the panels of head h after those of h − 1. Values: ⌈hd/32⌉ panels of L × 32 floats per head, entry
/// [j][x] = v_j[h·hd + 32c + x] (zero past hd), head after head. Valid while positions [0, L) of the row are unchanged: the
/// cache's own writes there (<see cref="KvCache.CopyRowFrom"/>, <see cref="Ops.CausalAttention.Decode"/> and
/// <see cref="Ops.CausalAttention.DecodeRows"/>) drop the row's panels; writes through a view or the K tensor do not.
/// </summary>
public sealed unsafe class PrefixPanels : IDisposable
{
    /// <summary>Keys per panel: the AVX-512 micro-kernel's columns (and value columns per panel).</summary>
    public const int PanelKeys = 32;

    readonly Tensor _panels;
    readonly long[] _offset; // per cache row: where its block starts (floats: keys, then values), −1 without
    readonly int[] _length;  // per cache row: the prefix length packed

    /// <summary>Bytes held: the keys' and the values' panels of every packed row.</summary>
    public long Bytes => (long)_panels.Length * sizeof(float);

    public int KvHeads { get; }
    public int HeadDim { get; }

    PrefixPanels(Tensor panels, long[] offset, int[] length, int kvHeads, int headDim)
    {
        _panels = panels; _offset = offset; _length = length; KvHeads = kvHeads; HeadDim = headDim;
    }

    /// <summary>The key panels' floats of a prefix of <paramref name="length"/> positions (⌈L/32⌉·32 keys × hd per kv head).</summary>
    static long KeyFloats(int length, int kvHeads, int hd) => (long)kvHeads * Panels(length) * hd * PanelKeys;

    /// <summary>Floats one packed prefix of <paramref name="length"/> positions takes in one layer: its keys' panels, then its values' (L × ⌈hd/32⌉·32 per kv head).</summary>
    public static long FloatsFor(int length, int kvHeads, int hd) => KeyFloats(length, kvHeads, hd) + (long)kvHeads * Panels(hd) * length * PanelKeys;

    /// <summary>Packs positions [0, lengths[i]) of cache rows rows[i] (distinct) of <paramref name="cache"/>.</summary>
    public static PrefixPanels Pack(KvCache cache, int kvHeads, IReadOnlyList<int> rows, IReadOnlyList<int> lengths)
    {
        if (kvHeads < 1 || cache.Width % kvHeads != 0) throw new ArgumentException($"PrefixPanels: {kvHeads} kv heads do not divide the cache width {cache.Width}");
        if (rows.Count != lengths.Count) throw new ArgumentException($"PrefixPanels: {rows.Count} rows, {lengths.Count} lengths");
        int hd = cache.Width / kvHeads;
        var offset = new long[cache.Batch];
        var length = new int[cache.Batch];
        Array.Fill(offset, -1);
        long total = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            int r = rows[i], n = lengths[i];
            if ((uint)r >= (uint)cache.Batch || n < 1 || n > cache.Capacity || offset[r] >= 0)
                throw new ArgumentException($"PrefixPanels: row {r} with {n} positions (a {cache.Batch}×{cache.Capacity} cache; rows must be distinct)");
            offset[r] = total;
            length[r] = n;
            total += FloatsFor(n, kvHeads, hd);
        }
        var panels = Tensor.Create(checked((int)Math.Max(1, total)));
        var packed = new PrefixPanels(panels, offset, length, kvHeads, hd);
        Workers.For(rows.Count, new PackBody { K = cache.K.Pointer, V = cache.V.Pointer, Capacity = cache.Capacity, Width = cache.Width, Out = panels.Pointer, Rows = rows, Packed = packed }, 1);
        return packed;
    }

    static int Panels(int keys) => (keys + PanelKeys - 1) / PanelKeys;

    struct PackBody : IRangeBody
    {
        public float* K, V, Out;
        public int Capacity, Width;
        public IReadOnlyList<int> Rows;
        public PrefixPanels Packed;

        public readonly void Run(int begin, int end)
        {
            int hd = Packed.HeadDim, kvHeads = Packed.KvHeads;
            for (int i = begin; i < end; i++)
            {
                int r = Rows[i], n = Packed._length[r], panels = Panels(n);
                float* dst = Out + Packed._offset[r];
                new Span<float>(dst, checked((int)KeyFloats(n, kvHeads, hd))).Clear();
                for (int h = 0; h < kvHeads; h++)
                    for (int j = 0; j < n; j++)
                    {
                        float* k = K + ((long)r * Capacity + j) * Width + h * hd;
                        float* p = dst + ((long)h * panels + j / PanelKeys) * hd * PanelKeys + j % PanelKeys;
                        for (int d = 0; d < hd; d++) p[d * PanelKeys] = k[d];
                    }
                float* values = dst + KeyFloats(n, kvHeads, hd);
                for (int h = 0; h < kvHeads; h++)
                    CutValues(V + (long)r * Capacity * Width + h * hd, Width, n, hd, values + (long)h * Panels(hd) * n * PanelKeys);
            }
        }
    }

    /// <summary>
    /// One kv head's values of <paramref name="keys"/> positions (row j at v + j·<paramref name="ld"/>, hd floats) cut into
    /// ⌈hd/32⌉ panels of keys × 32 floats: dst[c·keys·32 + j·32 + x] = v_j[32c + x], zero past hd — the micro-kernel's B for
    /// P·v. The packing here and decode attention's per-step copy when a prefix is not packed.
    /// </summary>
    internal static void CutValues(float* v, long ld, int keys, int hd, float* dst)
    {
        for (int c = 0; c * PanelKeys < hd; c++)
        {
            int w = Math.Min(PanelKeys, hd - c * PanelKeys);
            float* panel = dst + (long)c * keys * PanelKeys;
            for (int j = 0; j < keys; j++)
            {
                new Span<float>(v + j * ld + c * PanelKeys, w).CopyTo(new Span<float>(panel + (long)j * PanelKeys, w));
                new Span<float>(panel + (long)j * PanelKeys + w, PanelKeys - w).Clear();
            }
        }
    }

    /// <summary>
    /// The panels of cache row <paramref name="row"/> (kv head h's at + h·⌈length/32⌉·hd·32), when that row is packed
    /// with exactly <paramref name="length"/> positions; null otherwise.
    /// </summary>
    public float* Of(int row, int length)
        => (uint)row < (uint)_offset.Length && _offset[row] >= 0 && _length[row] == length ? _panels.Pointer + _offset[row] : null;

    /// <summary>
    /// The value panels of cache row <paramref name="row"/> (kv head h's panel c at + (h·⌈hd/32⌉ + c)·length·32), when that
    /// row is packed with exactly <paramref name="length"/> positions; null otherwise.
    /// </summary>
    public float* ValuesOf(int row, int length)
    {
        float* keys = Of(row, length);
        return keys == null ? null : keys + KeyFloats(length, KvHeads, HeadDim);
    }

    /// <summary>Forgets row <paramref name="row"/>'s panels if a write at <paramref name="position"/> changes its packed keys.</summary>
    internal void Written(int row, int position)
    {
        if ((uint)row < (uint)_offset.Length && position < _length[row]) _offset[row] = -1;
    }

    public void Dispose() => _panels.Dispose();
}

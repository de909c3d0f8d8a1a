using Distill.Tensors.Threading;

namespace Distill.Tensors.Autograd;

/// <summary>
/// One layer's shared prompt keys transposed into the GEMM micro-kernel's B panels, packed once after the prefill and
/// read at every decoding step by the shared-prefix scores (DecodeAttentionKernels.Grouped.cs, SharedScoresGemm). A
/// cache stores keys position-major (one key's dims side by side), where the micro-kernel wants the same dim of 32 keys
/// side by side; a prompt's keys meet its samples' queries at every step, so the transpose is paid once per prompt.
/// Layout, for prefix row r of length L and kv head h: ⌈L/32⌉ panels of hd × 32 floats, entry [d][x] = k_{32p+x}[h·hd + d]
/// (zero past L), the panels of head h after those of h − 1. Valid while positions [0, L) of the row are unchanged: the
/// cache's own writes there (<see cref="KvCache.CopyRowFrom"/>, <see cref="Ops.CausalAttention.Decode"/> and
/// <see cref="Ops.CausalAttention.DecodeRows"/>) drop the row's panels; writes through a view or the K tensor do not.
/// </summary>
public sealed unsafe class PrefixKeys : IDisposable
{
    /// <summary>Keys per panel: the AVX-512 micro-kernel's columns.</summary>
    public const int PanelKeys = 32;

    readonly Tensor _panels;
    readonly long[] _offset; // per cache row: where its panels start (floats), −1 without
    readonly int[] _length;  // per cache row: the prefix length packed

    public int KvHeads { get; }
    public int HeadDim { get; }

    PrefixKeys(Tensor panels, long[] offset, int[] length, int kvHeads, int headDim)
    {
        _panels = panels; _offset = offset; _length = length; KvHeads = kvHeads; HeadDim = headDim;
    }

    /// <summary>Packs positions [0, lengths[i]) of cache rows rows[i] (distinct) of <paramref name="cache"/>.</summary>
    public static PrefixKeys Pack(KvCache cache, int kvHeads, IReadOnlyList<int> rows, IReadOnlyList<int> lengths)
    {
        if (kvHeads < 1 || cache.Width % kvHeads != 0) throw new ArgumentException($"PrefixKeys: {kvHeads} kv heads do not divide the cache width {cache.Width}");
        if (rows.Count != lengths.Count) throw new ArgumentException($"PrefixKeys: {rows.Count} rows, {lengths.Count} lengths");
        int hd = cache.Width / kvHeads;
        var offset = new long[cache.Batch];
        var length = new int[cache.Batch];
        Array.Fill(offset, -1);
        long total = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            int r = rows[i], n = lengths[i];
            if ((uint)r >= (uint)cache.Batch || n < 1 || n > cache.Capacity || offset[r] >= 0)
                throw new ArgumentException($"PrefixKeys: row {r} with {n} positions (a {cache.Batch}×{cache.Capacity} cache; rows must be distinct)");
            offset[r] = total;
            length[r] = n;
            total += (long)kvHeads * Panels(n) * hd * PanelKeys;
        }
        var panels = Tensor.Create(checked((int)Math.Max(1, total)));
        var packed = new PrefixKeys(panels, offset, length, kvHeads, hd);
        Workers.For(rows.Count, new PackBody { Cache = cache.K.Pointer, Capacity = cache.Capacity, Width = cache.Width, Out = panels.Pointer, Rows = rows, Packed = packed }, 1);
        return packed;
    }

    static int Panels(int keys) => (keys + PanelKeys - 1) / PanelKeys;

    struct PackBody : IRangeBody
    {
        public float* Cache, Out;
        public int Capacity, Width;
        public IReadOnlyList<int> Rows;
        public PrefixKeys Packed;

        public readonly void Run(int begin, int end)
        {
            int hd = Packed.HeadDim;
            for (int i = begin; i < end; i++)
            {
                int r = Rows[i], n = Packed._length[r], panels = Panels(n);
                float* dst = Out + Packed._offset[r];
                new Span<float>(dst, checked(Packed.KvHeads * panels * hd * PanelKeys)).Clear();
                for (int h = 0; h < Packed.KvHeads; h++)
                    for (int j = 0; j < n; j++)
                    {
                        float* k = Cache + ((long)r * Capacity + j) * Width + h * hd;
                        float* p = dst + ((long)h * panels + j / PanelKeys) * hd * PanelKeys + j % PanelKeys;
                        for (int d = 0; d < hd; d++) p[d * PanelKeys] = k[d];
                    }
            }
        }
    }

    /// <summary>
    /// The panels of cache row <paramref name="row"/> (kv head h's at + h·⌈length/32⌉·hd·32), when that row is packed
    /// with exactly <paramref name="length"/> positions; null otherwise.
    /// </summary>
    public float* Of(int row, int length)
        => (uint)row < (uint)_offset.Length && _offset[row] >= 0 && _length[row] == length ? _panels.Pointer + _offset[row] : null;

    /// <summary>Forgets row <paramref name="row"/>'s panels if a write at <paramref name="position"/> changes its packed keys.</summary>
    internal void Written(int row, int position)
    {
        if ((uint)row < (uint)_offset.Length && position < _length[row]) _offset[row] = -1;
    }

    public void Dispose() => _panels.Dispose();
}
